/**
 * Cheap change detectors for run directories, read without blocking the event loop (fs/promises:
 * the stats run on libuv's pool while the server answers requests). A fingerprint changes
 * whenever a file a snapshot reads changes (sizes and mtimes, never contents).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { roundDir } from '../plan/paths.js';
import { PROGRESS_DIR } from '../store/job-progress.js';

async function fileStamp(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return '-';
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

async function dirStamp(dir: string): Promise<string> {
  const files = await names(dir);
  const parts = await Promise.all(files.map(async (f) => `${f}:${await fileStamp(join(dir, f))}`));
  return parts.join(',') || '-';
}

/**
 * run.json, recipe.json, job records and attempts, logs, eval files, running jobs' progress
 * files, and per round its seed shards, pair shards and training metrics.
 */
export async function runFingerprint(dir: string): Promise<string> {
  const rounds = (await names(dir)).filter((f) => /^round-\d+$/.test(f));
  const parts = await Promise.all([
    fileStamp(join(dir, 'run.json')),
    fileStamp(join(dir, 'recipe.json')),
    dirStamp(join(dir, 'jobs')),
    dirStamp(join(dir, 'logs')),
    dirStamp(join(dir, 'eval')),
    dirStamp(join(dir, PROGRESS_DIR)),
    ...rounds.flatMap((d) => {
      const r = Number(d.slice(6));
      return [
        dirStamp(join(dir, roundDir(r), 'seeds')),
        dirStamp(join(dir, roundDir(r), 'pairs')),
        fileStamp(join(dir, roundDir(r), 'train_metrics.jsonl')),
      ];
    }),
  ]);
  return [...rounds, ...parts].join('|');
}

/** Run folders (those holding a run.json) under `runsDir`, by name. */
export async function runFolders(runsDir: string): Promise<string[]> {
  const all = await names(runsDir);
  const found = await Promise.all(
    all.map(async (d) => ((await fileStamp(join(runsDir, d, 'run.json'))) === '-' ? undefined : d)),
  );
  return found.filter((d): d is string => d !== undefined);
}
