/**
 * Reading run files without trusting what they are: only a regular file is ever read. A named
 * pipe in place of a shard or a record would block a synchronous read forever (and the agent's
 * event loop with it); a device could be endless. Every run-file read goes through `openRegular`:
 * it opens with O_NONBLOCK (opening a pipe with no writer returns at once instead of waiting),
 * looks at what it opened with fstat, and refuses anything but a regular file before one byte is
 * read. O_NONBLOCK changes nothing for a regular file's reads.
 */
import { closeSync, constants, fstatSync, openSync, readSync, writeSync, type Stats } from 'node:fs';

/** What a non-regular file is, in words. */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'folder';
  if (st.isFIFO()) return 'named pipe (FIFO)';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

/** A path that is not a regular file where one was expected: it was never read. */
export class NotRegularFile extends Error {
  constructor(
    readonly path: string,
    /** What is there instead (`fileKind`). */
    readonly kind: string,
  ) {
    super(`${path} is a ${kind}, not a regular file; it was not read`);
    this.name = 'NotRegularFile';
  }
}

/** A file descriptor of `path`, open for reading, only when it is a regular file (`NotRegularFile` otherwise; the fs error when missing). */
export function openRegular(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!st.isFile()) {
    closeSync(fd);
    throw new NotRegularFile(path, fileKind(st));
  }
  return fd;
}

/** The bytes of a regular file (`NotRegularFile` for a pipe, a device, a folder). */
export function readRegular(path: string): Buffer {
  const fd = openRegular(path);
  try {
    const size = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let total = 0;
    // Read to the end, not only the size seen at open: the file may be growing (a log).
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.max(64 * 1024, size - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** The UTF-8 text of a regular file. */
export function readRegularText(path: string): string {
  return readRegular(path).toString('utf8');
}

/**
 * Appends `text` to `path` (created with `mode` when missing), only when it is a regular file:
 * opening a named pipe for writing with no reader would block, so it opens non-blocking and
 * refuses anything else (`NotRegularFile`) before writing.
 */
export function appendRegular(path: string, text: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, mode);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFile(path, fileKind(st));
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
