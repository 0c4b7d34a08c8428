/**
 * Integrity of a run directory, from its done records: every output a record names must be inside
 * the run directory, a regular file or a folder (a named pipe or a device is never read), hold a
 * sha256 in its record, and match it (folders: the folder digest, see digest.ts); a record must
 * parse; a shard file that no record names and no unfinished job of the plan writes is stray
 * (dropped in by hand or left by an earlier plan, never used); a symbolic link whose target leaves
 * the run is damage, and nothing is listed or read through it (run-links.ts). `ipa verify` lists
 * all of it, `ipa status` the part that needs no folder hashing, and the agent checks each job's
 * inputs before they are used.
 */
import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { ExitCode, IpaError } from '../errors.js';
import { producerOf, roundDir, SHARD_KINDS, stageOutputs } from '../plan/paths.js';
import { flattenPlan, planPreparation, planRound, roundCount } from '../plan/planner.js';
import { jobId } from '../plan/stages.js';
import { isWithin, realPath, staysInside } from '../real-path.js';
import { RunDamaged } from './damage.js';
import { fileDigest, FolderEntryError, folderDigest } from './digest.js';
import { fileKind, NotRegularFile } from '../regular-file.js';
import { leavingWords, linksLeaving } from './run-links.js';
import type { Recipe } from '../recipe/schema.js';
import { shardCount } from './manifest.js';
import type { DoneRecord, OutputRecord, RunStore } from './run-store.js';

export type DamageKind =
  | 'run-file'
  | 'unreadable-record'
  | 'outside-run'
  | 'outside-link'
  | 'missing-output'
  | 'special-file'
  | 'no-digest'
  | 'hash-mismatch'
  | 'stray-file';

/** One thing wrong in a run directory. */
export interface Damage {
  kind: DamageKind;
  /** The file at fault (absolute). */
  file: string;
  /** The job whose record is at fault or names the file. */
  job?: string;
  reason: string;
  expected?: string;
  actual?: string;
}

export interface ScanOptions {
  /** Hash every file output. @defaultValue true */
  files?: boolean;
  /** Hash every folder output (models: can be slow). @defaultValue true */
  folders?: boolean;
}

/** What a failed job tells the user to do about damage (the same commands as `ipa verify`'s advice). */
export const REPAIR_HINT =
  'run `ipa verify <run>` to list all damage, then `ipa run <run>` (for workers on a shared Redis: `ipa resume <run>`) to compute the damaged outputs and what was made from them again';

/** An input of a job does not match the done record that produced it: the job fails for good. */
export class IntegrityError extends IpaError {
  constructor(readonly damage: Damage) {
    super(describeDamage(damage), ExitCode.invalidInput);
    this.name = 'IntegrityError';
  }
}

export function describeDamage(d: Damage): string {
  const hashes = d.expected ? ` (sha256 in the record ${d.expected}, on disk ${d.actual ?? 'none'})` : '';
  return `${d.file}: ${d.reason}${hashes}`;
}

/** Checks one recorded output; undefined when it is as recorded. */
export function checkOutput(
  store: RunStore,
  rec: Pick<DoneRecord, 'job_id'>,
  name: string,
  out: OutputRecord,
  opts: ScanOptions = {},
): Damage | undefined {
  const at = { file: out.path, job: rec.job_id };
  if (!staysInside(out.path, store.dir))
    return { kind: 'outside-run', ...at, reason: `output "${name}" of ${rec.job_id} lies outside the run directory` };
  let st;
  try {
    st = lstatSync(out.path);
  } catch {
    return { kind: 'missing-output', ...at, reason: `output "${name}" of ${rec.job_id} is missing` };
  }
  if (st.isSymbolicLink())
    return { kind: 'outside-run', ...at, reason: `output "${name}" of ${rec.job_id} is a symbolic link` };
  const folder = st.isDirectory();
  const special = (kind: string) => ({
    kind: 'special-file' as const,
    ...at,
    reason: `output "${name}" of ${rec.job_id} is a ${kind}, not a file or folder; it was not read`,
  });
  if (!folder && !st.isFile()) return special(fileKind(st));
  // A record that holds no digest cannot vouch for anything: its output is not trusted.
  if (!out.sha256)
    return {
      kind: 'no-digest',
      ...at,
      reason: `the done record of ${rec.job_id} holds no sha256 for output "${name}", so the output cannot be checked and is not trusted`,
    };
  if (folder ? opts.folders === false : opts.files === false) return undefined;
  let actual: string;
  try {
    actual = folder ? folderDigest(out.path) : fileDigest(out.path);
  } catch (err) {
    if (err instanceof FolderEntryError)
      return {
        kind: 'outside-run',
        ...at,
        file: err.path,
        reason: `inside output "${name}" of ${rec.job_id}: ${err.message}`,
      };
    if (err instanceof NotRegularFile) return special(err.kind);
    throw err;
  }
  if (actual === out.sha256) return undefined;
  return {
    kind: 'hash-mismatch',
    ...at,
    reason: `output "${name}" of ${rec.job_id} does not match its done record (changed after it was written)`,
    expected: out.sha256,
    actual,
  };
}

/**
 * The record that produced the run file `path` and that output's entry; an `IntegrityError` when
 * no readable record names it.
 */
function producerRecord(store: RunStore, path: string): { rec: DoneRecord; name: string; out: OutputRecord } {
  const rel = relative(realPath(store.dir), realPath(path));
  const job = producerOf(rel);
  const fail = (reason: string) => new IntegrityError({ kind: 'stray-file', file: path, reason });
  if (!job) throw fail('is not a file any job of this run writes');
  const id = jobId({ runId: store.id, ...job });
  let rec: DoneRecord | undefined;
  try {
    rec = store.readRecord(id);
  } catch (err) {
    if (err instanceof RunDamaged)
      throw new IntegrityError({
        kind: 'unreadable-record',
        file: err.file,
        job: id,
        reason: `the done record of ${id}, which produced ${path}, ${err.reason}`,
      });
    throw err;
  }
  if (!rec) throw fail(`has no done record: ${id} never finished writing it`);
  const entry = Object.entries(rec.outputs).find(([, o]) => realPath(o.path) === realPath(path));
  if (!entry) throw fail(`is not among the outputs of ${id}`);
  return { rec, name: entry[0], out: entry[1] };
}

/**
 * Checks each input a job is about to read against the done record that produced it; throws
 * `IntegrityError` naming the file, both hashes and what to do. Every input is a run file: one
 * that resolves outside the run directory (a done record naming a path elsewhere, a link on the
 * way) is refused, never read.
 */
export function verifyInputs(store: RunStore, paths: readonly string[]): void {
  for (const path of paths) {
    if (!staysInside(path, store.dir)) {
      throw new IntegrityError({
        kind: 'outside-run',
        file: path,
        reason: `resolves to ${realPath(path)}, outside the run directory ${store.dir} (a done record naming a path elsewhere, or a symbolic link on the way); it was not read; ${REPAIR_HINT}`,
      });
    }
    const { rec, name, out } = producerRecord(store, path);
    const damage = checkOutput(store, rec, name, out);
    if (damage) throw new IntegrityError({ ...damage, reason: `${damage.reason}; ${REPAIR_HINT}` });
  }
}

/**
 * `verifyInputs` for the models a job loads: a folder named outside the run directory is the
 * recipe's own (its base model, checked against the allowed roots when the recipe was loaded); one
 * named inside it must resolve inside and match its done record.
 */
export function verifyModelInputs(store: RunStore, paths: readonly string[]): void {
  verifyInputs(
    store,
    paths.filter((p) => isWithin(resolve(p), resolve(store.dir))),
  );
}

/**
 * Every shard file under `round-*` and every eval file, absolute (eval/lmms-eval holds folder
 * outputs, checked through their records). Nothing is listed through a link in `leaving`.
 */
function dataFiles(store: RunStore, leaving: ReadonlySet<string>): string[] {
  const list = (dir: string, keep: (e: Dirent) => boolean): string[] => {
    if (leaving.has(dir)) return [];
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries
      .filter((e) => !e.name.startsWith('.') && keep(e))
      .map((e) => join(dir, e.name))
      .filter((p) => !leaving.has(p));
  };
  const out: string[] = [];
  for (const d of list(store.dir, (e) => /^round-\d+$/.test(e.name)))
    for (const kind of SHARD_KINDS) out.push(...list(join(d, kind), () => true));
  out.push(...list(join(store.dir, 'eval'), (e) => !e.isDirectory()));
  return out;
}

/**
 * Files a planned job that has not finished will write: a file there is not stray (the job's
 * record follows its rename, and computing the job overwrites whatever is there). `advance`
 * writes the next round's seed shards, however many; a round not opened yet will be planned
 * afresh, so everything under its folder waits for its jobs.
 */
function pendingOutputs(store: RunStore, recipe: Recipe): { files: Set<string>; dirs: string[] } {
  const files = new Set<string>();
  const dirs: string[] = [];
  const nodes = flattenPlan(planPreparation(recipe, store.id));
  for (let r = 1; r <= roundCount(recipe); r++)
    nodes.push(...flattenPlan(planRound(recipe, store.id, r, shardCount(store, r))));
  for (const n of nodes) {
    if (store.doneRecord(jobId({ runId: store.id, ...n }))) continue;
    if (n.stage === 'advance') dirs.push(realPath(store.abs(roundDir(n.round + 1))));
    else for (const rel of Object.values(stageOutputs(n.stage, n.round, n.shard))) files.add(realPath(store.abs(rel)));
  }
  return { files, dirs };
}

function kindAt(path: string): string {
  try {
    return fileKind(lstatSync(path));
  } catch {
    return 'regular file';
  }
}

/**
 * Everything wrong in the run directory, in a stable order. A damaged run.json or recipe.json is
 * reported alone: without them nothing else can be read.
 */
export function scanRun(store: RunStore, opts: ScanOptions = {}): Damage[] {
  try {
    store.info();
    store.recipe();
  } catch (err) {
    if (err instanceof RunDamaged) return [{ kind: 'run-file', file: err.file, reason: err.reason }];
    throw err;
  }
  const damage: Damage[] = [];
  // Links leading out of the run first: nothing below is listed, hashed or moved through them.
  const links = linksLeaving(store.dir);
  for (const l of links) damage.push({ kind: 'outside-link', file: l.link, reason: leavingWords(l) });
  const recorded = new Set<string>();
  for (const id of store.recordIds()) {
    let rec: DoneRecord | undefined;
    try {
      rec = store.readRecord(id);
    } catch (err) {
      if (!(err instanceof RunDamaged)) throw err;
      damage.push({ kind: 'unreadable-record', file: err.file, job: id, reason: `done record ${err.reason}` });
      continue;
    }
    if (!rec) continue;
    for (const [name, out] of Object.entries(rec.outputs)) {
      recorded.add(realPath(out.path));
      const d = checkOutput(store, rec, name, out, opts);
      if (d) damage.push(d);
    }
  }
  const pending = pendingOutputs(store, store.recipe());
  for (const f of dataFiles(store, new Set(links.map((l) => l.link)))) {
    const real = realPath(f);
    if (recorded.has(real) || pending.files.has(real) || pending.dirs.some((d) => real.startsWith(d + sep))) continue;
    const kind = kindAt(f);
    const what = kind === 'regular file' ? '' : ` (a ${kind}: never read)`;
    damage.push({
      kind: 'stray-file',
      file: f,
      reason: `no done record names this file and no job of the plan writes it: it is never used (added by hand, or left by an earlier plan)${what}`,
    });
  }
  return damage;
}
