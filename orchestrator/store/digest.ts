/**
 * Digests of run outputs, as the done records hold them: sha256 of a file's bytes, and for a
 * folder (a model, an adapter) the digest the Python side writes (`training/trainable.py`,
 * `dir_record`): sha256 over each file's relative path, a NUL byte and its bytes, files in path
 * order, component by component.
 *
 * Large folders: a full 7B checkpoint is ~15 GB, minutes to hash. A folder's digest is cached in
 * this process against the (path, size, mtime, inode) of every file in it, so an agent hashes a
 * model once and again only when a file in it changes; a stat of each file is the price of every
 * later check. Tampering that keeps every size, mtime and inode is not seen by a warm cache: a
 * fresh process (`ipa verify`, a restarted agent) hashes everything.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { openRegular } from '../regular-file.js';

const CHUNK = 1 << 20;

/**
 * Feeds the file's bytes to `hash` in 1 MiB chunks (a model file does not fit in memory twice).
 * Only a regular file is read (`NotRegularFile` for a named pipe or a device: never blocks).
 */
function hashInto(hash: ReturnType<typeof createHash>, path: string): void {
  const fd = openRegular(path);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

export function fileDigest(path: string): string {
  const h = createHash('sha256');
  hashInto(h, path);
  return h.digest('hex');
}

/** A folder holds something other than files and folders (a link, a socket): it is not a clean output. */
export class FolderEntryError extends Error {
  constructor(readonly path: string) {
    super(`${path} is a symbolic link or special file; run outputs hold only files and folders`);
    this.name = 'FolderEntryError';
  }
}

interface Entry {
  parts: string[];
  path: string;
  stamp: string;
}

function walk(root: string, parts: string[] = [], out: Entry[] = []): Entry[] {
  for (const name of readdirSync(join(root, ...parts))) {
    const p = [...parts, name];
    const full = join(root, ...p);
    const st = lstatSync(full);
    if (st.isDirectory()) walk(root, p, out);
    else if (st.isFile()) out.push({ parts: p, path: full, stamp: `${st.size}:${st.mtimeMs}:${st.ino}` });
    else throw new FolderEntryError(full);
  }
  return out;
}

/** Python orders paths by their components: `a/b` before `a-c` (a string sort would not). */
function byComponents(a: Entry, b: Entry): number {
  const n = Math.min(a.parts.length, b.parts.length);
  for (let i = 0; i < n; i++) if (a.parts[i] !== b.parts[i]) return a.parts[i] < b.parts[i] ? -1 : 1;
  return a.parts.length - b.parts.length;
}

const folderCache = new Map<string, { signature: string; digest: string }>();

/** The folder digest of `dir` (see the module comment); `FolderEntryError` for a link inside it. */
export function folderDigest(dir: string, opts: { cache?: boolean } = {}): string {
  const entries = walk(dir).sort(byComponents);
  const signature = entries.map((e) => `${e.parts.join('/')}=${e.stamp}`).join('\n');
  const cached = folderCache.get(dir);
  if (opts.cache !== false && cached?.signature === signature) return cached.digest;
  const h = createHash('sha256');
  for (const e of entries) {
    h.update(Buffer.from(e.parts.join('/') + '\0', 'utf8'));
    hashInto(h, e.path);
  }
  const digest = h.digest('hex');
  folderCache.set(dir, { signature, digest });
  return digest;
}
