/**
 * Fault injection (`make chaos`): a multi-shard tiny run on a private Redis while a seeded schedule
 * of faults at random times kills worker agents (-9), kills their Python processes, restarts Redis
 * hard, wipes it (FLUSHALL, then `ipa resume`), lets worker agents join late, and truncates stage
 * files (scripts/chaos/truncate.ts). A run that fails on a damaged input, or that `ipa verify` finds
 * damaged once it completed, is repaired as a user would: `ipa resume`. The final pairs are compared
 * row for row with an undisturbed run of the same recipe and seed, and the run directory is checked
 * for lost or doubly counted shards.
 *
 *   npx tsx scripts/chaos.ts [--seed N] [--faults N] [--reduced]
 *
 * Prints the figures and writes them to test-artifacts/chaos.json; exit code 1 on any loss or
 * mismatch. `runChaos` is the same core for test/chaos/chaos.test.ts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import {
  flattenPlan,
  planPreparation,
  planRound,
  roundCount,
  roundSettings,
  shardStages,
} from '../orchestrator/plan/planner.js';
import { jobId } from '../orchestrator/plan/stages.js';
import { connect } from '../orchestrator/queue/connection.js';
import { LocalRedis } from '../orchestrator/queue/local-redis.js';
import { QueueSet } from '../orchestrator/queue/queues.js';
import { loadRecipe } from '../orchestrator/recipe/load.js';
import { submitRun } from '../orchestrator/run/submit.js';
import { readJobProgress } from '../orchestrator/store/job-progress.js';
import type { Damage } from '../orchestrator/store/integrity.js';
import { shardCount } from '../orchestrator/store/manifest.js';
import { RunStore } from '../orchestrator/store/run-store.js';
import { ensureAnsweringModel } from '../test/helpers/answering-model.js';
import { FAULT_KINDS, prng, schedule, type FaultKind } from './chaos/schedule.js';
import { pickTruncation, plantHalfWritten, shardJobKey, truncateInPlace, type ShardJob } from './chaos/truncate.js';

const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'orchestrator', 'cli', 'main.ts');

export type { FaultKind } from './chaos/schedule.js';

export interface ChaosOptions {
  seed: number;
  /** Faults in all, of random kinds (each kind at least once); the reduced form does one of each. */
  faults: number;
  reduced: boolean;
  /** Lines of progress; silent when absent. */
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  reduced: boolean;
  machine: string;
  faults_injected: Record<FaultKind, number>;
  faults_injected_total: number;
  faults_survived: number;
  /** Scheduled faults the run finished before (a problem: the run did not face them). */
  faults_not_fired: FaultKind[];
  /** Stage files cut in half: finished ones (the record stays) and half-written ones of unfinished jobs. */
  truncations: Array<{ file: string; done_record: boolean; reader_pending?: boolean }>;
  /** Each `ipa resume` that repaired damage: after the run failed on it, or after `ipa verify` found it. */
  repairs: Array<{
    after: 'run failed' | 'verify after completion' | 'FLUSHALL';
    damaged: string[];
    dependents: string[];
    /** Why the run failed (its recorded error), and what `ipa verify` found before the repair. */
    reason?: string;
    found?: string[];
  }>;
  /** `ipa verify` of the finished run (every output against its done record): exit 0. */
  final_verify_ok: boolean;
  /** Worker agents started during the run under faults (replacements and late joiners included). */
  agents_started: number;
  /** Jobs computed more than once: a try lost (attempt counter above 1) or set aside by a repair. */
  shards_recomputed: number;
  recomputed_jobs: string[];
  pairs_expected: number;
  pairs_found: number;
  pairs_lost: number;
  /** Rows compared, in sorted order, between the two runs; and how many of them are equal. */
  pairs_compared: number;
  pairs_equal_rows: number;
  pairs_equal: boolean;
  missing_done_records: string[];
  unexpected_done_records: string[];
  duplicate_pair_rows: number;
  shard_row_mismatches: string[];
  chaos_state: string;
  wall_s: { undisturbed: number; chaos: number; total: number };
  /** 1-minute load average at the start, the end, and the mean of samples taken while the runs ran. */
  load: { start: number; end: number; mean: number; cores: number };
  ok: boolean;
  problems: string[];
}

/**
 * The chaos recipe on the answering fixture model (about 2.5 pairs per seed with revision off).
 * Full: 256 seeds in 16 shards, 1 round with revision (5 jobs a shard): over 500 pairs. Reduced:
 * 12 seeds in 4 shards. Training is cut to a few DPO steps (a fraction of an epoch) and nothing is
 * evaluated, so the sharded stages, where most faults land, take most of the run. Its own
 * synthetic folder per size, so other tests' data settings never clash with it.
 */
function chaosRecipe(work: string, reduced: boolean): Record<string, unknown> {
  const seeds = reduced ? 12 : 256;
  return {
    name: 'chaos',
    seed: 3,
    model: { base: ensureAnsweringModel(), build_tiny: false, device: 'cpu', dtype: 'float32' },
    data: {
      synthetic: {
        enabled: true,
        output_dir: join(REPO, '.cache', 'chaos-data', `synthetic-${seeds}`),
        train_size: seeds,
        heldout_size: 4,
        seed: 0,
      },
      shard_size: reduced ? 3 : 16,
    },
    sampling: { num_normal: 4, num_contrastive: 4, max_new_tokens: 6, batch_size: 32 },
    verifier: { kind: 'rule' },
    reviser: { max_new_tokens: 8, max_revisions_per_seed: 1, feedbacks_per_response: 1 },
    pairs: { max_pairs_per_seed: 8, feedback_pairs: false },
    rounds: [{ name: 'automated' }],
    training: {
      train_reviser: false,
      dpo: { batch_size: 32, epochs: reduced ? 1 : 0.25, learning_rate: 1e-4, max_length: 128, save_steps: 2 },
    },
    eval: { after: 'none', max_new_tokens: 6 },
    // Every kill costs a try: leave room so the faults, not the retry budget, are what is tested.
    orchestration: { attempts: 10, backoff_ms: 200 },
    runs_dir: join(work, 'runs'),
    allowed_roots: [work],
  };
}

/** Agent flags; `--stalled-ms` only when this checkout's `ipa worker` has it (else lock expiry + BullMQ's default check). */
function agentFlags(): string[] {
  const help = execFileSync(process.execPath, ['--import', 'tsx', CLI, 'worker', '--help'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  return [
    '--lock-ms',
    '4000',
    '--grace-ms',
    '1000',
    ...(help.includes('--stalled-ms') ? ['--stalled-ms', '2000'] : []),
  ];
}

class Fleet {
  readonly agents = new Set<ChildProcess>();
  private n = 0;
  get startedCount(): number {
    return this.n;
  }
  constructor(
    private readonly url: () => string,
    private readonly prefix: string,
    private readonly logDir: string,
    private readonly flags: string[],
  ) {}

  start(): ChildProcess {
    const out = openSync(join(this.logDir, `agent-${this.prefix}-${this.n++}.log`), 'a');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'worker', '--redis-url', this.url(), '--prefix', this.prefix, ...this.flags],
      {
        cwd: REPO,
        stdio: ['ignore', out, out],
        env: { ...process.env, IPA_LOG_LEVEL: process.env.IPA_LOG_LEVEL ?? 'info' },
      },
    );
    this.agents.add(child);
    child.once('exit', () => this.agents.delete(child));
    return child;
  }

  live(): ChildProcess[] {
    return [...this.agents].filter((c) => c.exitCode === null && c.signalCode === null && c.pid);
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.agents].map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const t = setTimeout(() => killTree(c.pid!), 8000);
            c.once('exit', () => (clearTimeout(t), res()));
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** The agent's Python processes (its direct children running the bridge server). */
function pythonChildren(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'ipa_worker'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function killTree(pid: number): void {
  const kids = pythonChildren(pid);
  kill(pid);
  kids.forEach(kill);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What counts as the run moving: its done records and what its running jobs last reported
 * (store/job-progress.ts: a training step, a batch of the reward evaluation, a new phase). A long
 * job that keeps reporting is working, not hung.
 */
export function progressSignature(store: RunStore): string {
  const running = readJobProgress(store.dir).map(
    (p) => `${p.job_id}#${p.attempt}:${p.done}/${p.total}:${String(p.metrics.phase ?? '')}`,
  );
  return [store.doneIds().size, ...running].join('|');
}

/** Waits for a terminal state; a run that neither finishes a job nor reports progress for `stallMs` counts as hung. */
async function waitRun(store: RunStore, stallMs: number, onTick?: (done: number) => Promise<void>): Promise<string> {
  let last = '';
  let since = Date.now();
  for (;;) {
    const state = store.info().state;
    if (['completed', 'failed', 'cancelled'].includes(state)) return state;
    const done = store.doneIds().size;
    const now = progressSignature(store);
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    if (Date.now() - since > stallMs) return 'hung';
    if (onTick) await onTick(done);
    await sleep(300);
  }
}

function readJsonl(p: string): Record<string, unknown>[] {
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Every pair row of a run directory as written, round by round. */
function pairRows(store: RunStore): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const d of readdirSync(store.dir)
    .filter((x) => x.startsWith('round-'))
    .sort()) {
    let files: string[] = [];
    try {
      files = readdirSync(store.abs(`${d}/pairs`)).filter((f) => f.endsWith('.jsonl'));
    } catch {
      continue; // a round that made no pairs folder
    }
    for (const f of files) out.push(...readJsonl(store.abs(`${d}/pairs/${f}`)));
  }
  return out;
}

/** Pair rows as content: run-specific fields (id, run dir) left out, keys sorted, in a stable order. */
export function canonicalPairs(store: RunStore): string[] {
  return pairRows(store)
    .map(({ id: _id, ...rest }) => JSON.stringify(sortKeys(rest)).split(store.dir).join('<run>'))
    .sort();
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}

/** Every job the plan holds for the run's rounds, from the run directory alone. */
function plannedJobs(store: RunStore): string[] {
  const recipe = store.recipe();
  const nodes = flattenPlan(planPreparation(recipe, store.id));
  for (let r = 1; r <= roundCount(recipe); r++)
    nodes.push(...flattenPlan(planRound(recipe, store.id, r, shardCount(store, r))));
  return nodes.map((n) => `${store.id}.r${n.round}.${n.stage}.s${String(n.shard).padStart(3, '0')}`).sort();
}

/** `round.stage.shard.output` → rows, from the done records, checked against the files' line counts. */
function rowsPerShard(store: RunStore, problems: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const rec of store.doneRecords()) {
    for (const [name, o] of Object.entries(rec.outputs)) {
      out.set(`r${rec.round}.${rec.stage}.s${rec.shard}.${name}`, o.rows);
      if (o.path.endsWith('.jsonl')) {
        const lines = readFileSync(o.path, 'utf8').split('\n').filter(Boolean).length;
        if (lines !== o.rows)
          problems.push(`${rec.job_id} ${name}: done record says ${o.rows} rows, file has ${lines}`);
      }
    }
  }
  return out;
}

async function submit(url: string, prefix: string, recipeFile: string): Promise<RunStore> {
  const conn = connect(url);
  const queues = new QueueSet(conn, prefix);
  try {
    const { recipe } = loadRecipe(recipeFile);
    return await submitRun({ recipe, recipeFile, queues });
  } finally {
    await queues.close();
    await conn.quit().catch(() => undefined);
  }
}

/** Runs `ipa ARGS…` as a separate process, as a user would; resolves with its exit code and output. */
function ipa(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout?.on('data', (b) => (stdout += String(b)));
    c.stderr?.on('data', (b) => (stderr += String(b)));
    c.once('exit', (code) => res({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * `ipa resume` of a run; while a job of the round still runs (the queue cannot be rebuilt around
 * damage then) it is tried again every second, up to a minute. The parsed `--json` answer, or the error.
 */
async function resumeCli(
  dir: string,
  url: string,
  prefix: string,
): Promise<{ ok: true; damaged: string[]; dependents: string[] } | { ok: false; error: string }> {
  let last = '';
  for (let i = 0; i < 60; i++) {
    const r = await ipa(['resume', dir, '--redis-url', url, '--prefix', prefix, '--json']);
    if (r.code === 0) {
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        repair: { damaged: string[]; dependents: string[] };
      };
      return { ok: true, damaged: j.repair.damaged, dependents: j.repair.dependents };
    }
    last = `exit ${r.code}: ${r.stderr.trim()}`;
    if (!/jobs running/.test(r.stderr)) break;
    await sleep(1000);
  }
  return { ok: false, error: last };
}

/** Waits until no job of any queue under `prefix` is active (at most `maxMs`). */
async function waitIdle(url: string, prefix: string, maxMs: number): Promise<void> {
  const conn = connect(url);
  conn.on('error', () => undefined);
  const queues = new QueueSet(conn, prefix);
  try {
    for (const end = Date.now() + maxMs; Date.now() < end; await sleep(500)) {
      const active = await Promise.all(queues.all().map((q) => q.getActiveCount()));
      if (active.every((n) => n === 0)) return;
    }
  } finally {
    await queues.close();
    await conn.quit().catch(() => undefined);
  }
}

/** The shard jobs of the run's latest opened round, with the outputs of the finished ones, and the keys of finished jobs. */
function shardJobs(
  run: RunStore,
): { jobs: ShardJob[]; finished: Set<string>; stages: ReturnType<typeof shardStages> } | undefined {
  const recipe = run.recipe();
  let round = 0;
  for (let r = 1; r <= roundCount(recipe); r++) if (shardCount(run, r) > 0) round = r;
  if (!round) return undefined;
  const stages = shardStages(roundSettings(recipe, round));
  const jobs: ShardJob[] = [];
  const finished = new Set<string>();
  const id = (stage: ShardJob['stage'], shard: number) => jobId({ runId: run.id, round, stage, shard });
  if (run.doneRecord(id('train', 0))) finished.add(shardJobKey({ stage: 'train', round, shard: 0 }));
  for (let shard = 0; shard < shardCount(run, round); shard++)
    for (const stage of stages) {
      const rec = run.doneRecord(id(stage, shard));
      if (rec) finished.add(shardJobKey({ stage, round, shard }));
      const outputs = rec
        ? Object.values(rec.outputs)
            .map((o) => o.path)
            .filter((p) => p.endsWith('.jsonl') && statSync(p).size > 1)
        : undefined;
      jobs.push({ stage, round, shard, ...(rec ? { outputs } : {}) });
    }
  return { jobs, finished, stages };
}

/** Pair rows of a run dir by raw id: how many appear more than once. */
function duplicatePairRows(run: RunStore): number {
  const ids = new Set<string>();
  let dup = 0;
  for (const p of pairRows(run)) {
    if (ids.has(String(p.id))) dup++;
    ids.add(String(p.id));
  }
  return dup;
}

/** Compares the two runs' pairs row for row (both sorted) and audits the chaos run's directory; problems go to `problems`. */
function audit(ref: RunStore, run: RunStore, expected: string[], problems: string[]) {
  const found = canonicalPairs(run);
  const remaining = new Map<string, number>();
  for (const p of found) remaining.set(p, (remaining.get(p) ?? 0) + 1);
  let lost = 0;
  for (const p of expected) {
    const n = remaining.get(p) ?? 0;
    if (n > 0) remaining.set(p, n - 1);
    else lost++;
  }
  const compared = Math.max(found.length, expected.length);
  let equalRows = 0;
  for (let i = 0; i < compared; i++) if (found[i] !== undefined && found[i] === expected[i]) equalRows++;
  const digest = (xs: string[]) => createHash('sha256').update(xs.join('\n')).digest('hex');
  const pairsEqual = digest(found) === digest(expected);
  if (!pairsEqual)
    problems.push(
      `pairs differ from the undisturbed run (${found.length} vs ${expected.length}, ${equalRows} rows equal)`,
    );
  if (lost) problems.push(`${lost} pair(s) lost`);
  const planned = plannedJobs(run);
  const done = run.doneIds();
  const missing = planned.filter((id) => !done.has(id));
  const unexpected = [...done].filter((id) => !planned.includes(id)).sort();
  for (const id of done)
    if (run.doneRecord(id)?.job_id !== id) problems.push(`done record ${id} names ${run.doneRecord(id)?.job_id}`);
  if (missing.length) problems.push(`planned jobs without a done record: ${missing.join(', ')}`);
  if (unexpected.length) problems.push(`done records outside the plan: ${unexpected.join(', ')}`);
  const dup = duplicatePairRows(run);
  if (dup) problems.push(`${dup} duplicate pair row id(s)`);
  const refRows = rowsPerShard(ref, problems);
  const runRows = rowsPerShard(run, problems);
  const rowMismatch = [...new Set([...refRows.keys(), ...runRows.keys()])]
    .filter((k) => refRows.get(k) !== runRows.get(k))
    .sort();
  if (rowMismatch.length)
    problems.push(
      `rows per shard differ: ${rowMismatch.map((k) => `${k} ${refRows.get(k)}≠${runRows.get(k)}`).join(', ')}`,
    );
  return { found, lost, compared, equalRows, pairsEqual, missing, unexpected, dup, rowMismatch };
}

/** Most worker agents that run at once under faults: a late joiner beyond it makes one leave first (SIGTERM, graceful). */
const MAX_AGENTS = 3;

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const load0 = loadavg()[0];
  const loads: number[] = [];
  const rand = prng(opts.seed);
  const work = mkdtempSync(join(tmpdir(), 'ipa-chaos-'));
  const logDir = join(work, 'logs');
  mkdirSync(logDir);
  const recipeFile = join(REPO, '.cache', `chaos-${process.pid}-${opts.seed}.yaml`);
  mkdirSync(join(REPO, '.cache'), { recursive: true });
  writeFileSync(recipeFile, stringify(chaosRecipe(work, opts.reduced)));
  const redis = await LocalRedis.start({ appendonly: true });
  const flags = agentFlags();
  const fleets: Fleet[] = [];
  const problems: string[] = [];
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const truncations: ChaosReport['truncations'] = [];
  const repairs: ChaosReport['repairs'] = [];
  let survived = 0;
  const sampleLoad = async () => void loads.push(loadavg()[0]);
  try {
    // 1. The undisturbed run, on two agents from the start.
    log(`undisturbed run (seed ${opts.seed}${opts.reduced ? ', reduced' : ''})`);
    const refFleet = new Fleet(() => redis.url, 'chaos-ref', logDir, flags);
    fleets.push(refFleet);
    refFleet.start();
    refFleet.start();
    const ref = await submit(redis.url, 'chaos-ref', recipeFile);
    const refState = await waitRun(ref, 300_000, sampleLoad);
    await refFleet.stopAll();
    const tRef = Date.now();
    if (refState !== 'completed')
      throw new Error(`the undisturbed run ended ${refState}: see ${logDir} and ${ref.dir}`);
    const expected = canonicalPairs(ref);
    if (!expected.length) throw new Error('the undisturbed run made no pairs: nothing to compare (change the recipe)');
    log(`undisturbed: ${expected.length} pairs, ${plannedJobs(ref).length} jobs, ${((tRef - t0) / 1000).toFixed(0)} s`);

    // 2. The same run under faults; one agent to begin with, others join late (a fault kind).
    const plan = schedule({ faults: opts.faults, refMs: tRef - t0 }, rand);
    log(`schedule: ${plan.map((f) => `${f.kind}@${(f.atMs / 1000).toFixed(0)}s`).join(' ')}`);
    const fleet = new Fleet(() => redis.url, 'chaos-run', logDir, flags);
    fleets.push(fleet);
    fleet.start();
    const run = await submit(redis.url, 'chaos-run', recipeFile);
    const tSubmit = Date.now();
    const short = (id: string) => id.slice(run.id.length + 1);
    const pending: Array<{ kind: FaultKind; doneAt: number }> = [];
    let busy = false;
    const inject = async (done: number): Promise<void> => {
      loads.push(loadavg()[0]);
      for (const p of pending.filter((x) => done > x.doneAt)) {
        survived++; // the run made progress after this fault
        pending.splice(pending.indexOf(p), 1);
      }
      if (busy || !plan.length || Date.now() - tSubmit < plan[0].atMs) return;
      busy = true;
      const f = plan.shift()!;
      try {
        const ok = await injectFault(f.kind);
        if (ok) {
          injected[f.kind]++;
          pending.push({ kind: f.kind, doneAt: run.doneIds().size });
          log(`fault ${f.kind} at ${((Date.now() - tSubmit) / 1000).toFixed(0)} s, ${run.doneIds().size} jobs done`);
        } else {
          // Nothing to hit now (no Python process yet, no finished shard to cut): a second later,
          // behind the faults already due, so one that must wait never holds the others back.
          plan.push({ ...f, atMs: Date.now() - tSubmit + 1000 });
          plan.sort((x, y) => x.atMs - y.atMs);
        }
      } finally {
        busy = false;
      }
    };
    const truncate = (): boolean => {
      const shards = shardJobs(run);
      if (!shards) return false;
      const pick = pickTruncation(shards.jobs, shards.finished, shards.stages, rand);
      if (!pick.afterRecord) return false; // nothing finished yet: a second later
      truncateInPlace(pick.afterRecord);
      truncations.push({
        file: relative(run.dir, pick.afterRecord),
        done_record: true,
        reader_pending: pick.consumerPending,
      });
      if (pick.beforeRecord) {
        const like = shards.jobs.find((j) => j.stage === pick.beforeRecord!.stage && j.outputs?.length)?.outputs?.[0];
        const files = plantHalfWritten(run.dir, pick.beforeRecord, like);
        if (files.length) truncations.push({ file: relative(run.dir, files[0]), done_record: false });
      }
      return true;
    };
    const injectFault = async (kind: FaultKind): Promise<boolean> => {
      const live = fleet.live();
      if (kind === 'agent-kill') {
        const a = live[Math.floor(rand() * live.length)];
        if (!a) return false;
        // A crashed host loses the agent and its Python processes together; a replacement starts at once.
        killTree(a.pid!);
        fleet.start();
        return true;
      }
      if (kind === 'python-kill') {
        const pys = live.flatMap((a) => pythonChildren(a.pid!));
        if (!pys.length) return false;
        kill(pys[Math.floor(rand() * pys.length)]);
        return true;
      }
      if (kind === 'late-worker') {
        // A worker joins mid-run; the fleet stays small, so beyond MAX_AGENTS one leaves first.
        if (live.length >= MAX_AGENTS) live[Math.floor(rand() * live.length)].kill('SIGTERM');
        fleet.start();
        return true;
      }
      if (kind === 'truncate') return truncate();
      if (kind === 'redis-restart') {
        await redis.restart({ hard: true });
        return true;
      }
      const conn = connect(redis.url);
      conn.on('error', () => undefined);
      await conn.flushall();
      await conn.quit();
      const r = await resumeCli(run.dir, redis.url, 'chaos-run');
      if (!r.ok) problems.push(`ipa resume after FLUSHALL failed: ${r.error}`);
      else if (r.damaged.length)
        repairs.push({ after: 'FLUSHALL', damaged: r.damaged.map(short), dependents: r.dependents.map(short) });
      return true;
    };
    // A run that fails on a damaged input, or completes with damage `ipa verify` finds, is repaired by `ipa resume`.
    let state = 'running';
    for (let repairsLeft = 10; ; repairsLeft--) {
      state = await waitRun(run, 300_000, inject);
      if (state !== 'completed' && state !== 'failed') break;
      const v = await ipa(['verify', run.dir, '--json']);
      const damage = (JSON.parse(v.stdout) as { damage: Damage[] }).damage;
      if (!damage.length || !repairsLeft) break;
      const reason = state === 'failed' ? (run.info().error ?? 'no error recorded') : undefined;
      const found = damage.map((d) => `${d.kind} ${relative(run.dir, d.file)}`);
      // `ipa resume` sets damaged records aside before it finds a job of the round still running and
      // asks to be run again; the retry would then see no damage to report. Let running jobs end first.
      await waitIdle(redis.url, 'chaos-run', 60_000);
      const r = await resumeCli(run.dir, redis.url, 'chaos-run');
      if (!r.ok) {
        problems.push(`ipa resume of the damaged run failed: ${r.error}`);
        break;
      }
      repairs.push({
        after: state === 'failed' ? 'run failed' : 'verify after completion',
        damaged: r.damaged.map(short),
        dependents: r.dependents.map(short),
        ...(reason === undefined ? {} : { reason }),
        found,
      });
      log(
        `repair after the run ${state === 'failed' ? `failed (${reason})` : 'completed'}: ipa verify found ${found.join('; ')}; ipa resume set aside ${r.damaged.length} damaged job(s), ${r.dependents.length} made from them, recomputed`,
      );
    }
    if (state === 'completed') survived += pending.length;
    // Not a loss, but the run did not face what it claims to: the figure needs every fault fired.
    const notFired = plan.map((f) => f.kind);
    if (notFired.length)
      problems.push(
        `${notFired.length} scheduled fault(s) did not fire before the run finished (${notFired.join(', ')}): narrow the window or enlarge the recipe`,
      );
    const agentsStarted = fleet.startedCount;
    await fleet.stopAll();
    const tRun = Date.now();
    const finalVerify = await ipa(['verify', run.dir]);
    if (finalVerify.code !== 0) problems.push(`ipa verify of the finished run: ${finalVerify.stdout.trim()}`);

    // 3. Compare and audit.
    if (state !== 'completed')
      problems.push(
        `the run under faults ended ${state} (${run.info().error ?? 'no error recorded'}): see ${logDir} and ${run.dir}`,
      );
    const a = audit(ref, run, expected, problems);
    const lostTries = [...run.allAttempts()].filter(([, n]) => n > 1).map(([id]) => short(id));
    const recomputed = [...new Set([...lostTries, ...repairs.flatMap((r) => [...r.damaged, ...r.dependents])])].sort();
    const total = Object.values(injected).reduce((x, y) => x + y, 0);
    const ok = problems.length === 0;
    if (ok) rmSync(work, { recursive: true, force: true });
    return {
      seed: opts.seed,
      reduced: opts.reduced,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      faults_injected: injected,
      faults_injected_total: total,
      faults_survived: state === 'completed' ? survived : Math.min(survived, total),
      faults_not_fired: notFired,
      truncations,
      repairs,
      final_verify_ok: finalVerify.code === 0,
      agents_started: agentsStarted,
      shards_recomputed: recomputed.length,
      recomputed_jobs: recomputed,
      pairs_expected: expected.length,
      pairs_found: a.found.length,
      pairs_lost: a.lost,
      pairs_compared: a.compared,
      pairs_equal_rows: a.equalRows,
      pairs_equal: a.pairsEqual,
      missing_done_records: a.missing,
      unexpected_done_records: a.unexpected,
      duplicate_pair_rows: a.dup,
      shard_row_mismatches: a.rowMismatch,
      chaos_state: state,
      wall_s: { undisturbed: (tRef - t0) / 1000, chaos: (tRun - tRef) / 1000, total: (tRun - t0) / 1000 },
      load: {
        start: load0,
        end: loadavg()[0],
        mean: loads.length ? Math.round((loads.reduce((x, y) => x + y, 0) / loads.length) * 100) / 100 : load0,
        cores: cpus().length,
      },
      ok,
      problems,
    };
  } finally {
    for (const f of fleets) for (const a of f.live()) killTree(a.pid!);
    await redis.stop();
    rmSync(recipeFile, { force: true });
  }
}

function printReport(r: ChaosReport): void {
  const kinds = Object.entries(r.faults_injected)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const cut = r.truncations.filter((t) => t.done_record).length;
  const repaired = r.repairs
    .map((x) => `${x.damaged.length} damaged + ${x.dependents.length} made from them (${x.after})`)
    .join('; ');
  console.log(
    `Faults: ${r.faults_injected_total} injected (${kinds}); the run survived ${r.faults_survived} of them${r.faults_not_fired.length ? `; ${r.faults_not_fired.length} did not fire because the run finished first (${r.faults_not_fired.join(', ')})` : ''}.`,
  );
  console.log(
    `Truncated files: ${cut} finished output(s) cut in half with their done record kept, ${r.truncations.length - cut} half-written file(s) planted for unfinished jobs.`,
  );
  console.log(
    `Repairs by ipa resume: ${r.repairs.length ? repaired : 'none'}; ipa verify of the finished run: ${r.final_verify_ok ? 'clean' : 'DAMAGE LEFT'}.`,
  );
  console.log(
    `Shards recomputed: ${r.shards_recomputed}${r.recomputed_jobs.length ? ` (${r.recomputed_jobs.join(', ')})` : ''}; worker agents started under faults: ${r.agents_started}.`,
  );
  console.log(
    `Pairs: ${r.pairs_expected} expected, ${r.pairs_found} found, ${r.pairs_compared} compared row for row, ${r.pairs_equal_rows} equal, ${r.pairs_lost} lost.`,
  );
  console.log(
    `Wall time: ${r.wall_s.total.toFixed(0)} s (undisturbed run ${r.wall_s.undisturbed.toFixed(0)} s, run under faults ${r.wall_s.chaos.toFixed(0)} s).`,
  );
  console.log(
    `Load average (1 min) on ${r.load.cores} cores: ${r.load.start.toFixed(1)} at the start, ${r.load.mean.toFixed(1)} on average, ${r.load.end.toFixed(1)} at the end. Machine: ${r.machine}.`,
  );
  for (const p of r.problems) console.log(`PROBLEM: ${p}`);
  console.log(r.ok ? 'chaos: ok' : 'chaos: FAILED');
}

async function cli(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      faults: { type: 'string', default: '24' },
      reduced: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const faults = Number(values.faults);
  if (!Number.isInteger(seed) || !Number.isInteger(faults) || faults < 0) {
    console.error('usage: chaos.ts [--seed N] [--faults N] [--reduced]   (N: whole numbers, faults ≥ 0)');
    return 2;
  }
  const report = await runChaos({
    seed,
    faults: values.reduced ? FAULT_KINDS.length : faults,
    reduced: values.reduced,
    log: (l) => console.error(`[chaos] ${l}`),
  });
  mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
  writeFileSync(join(REPO, 'test-artifacts', 'chaos.json'), JSON.stringify(report, null, 2) + '\n');
  printReport(report);
  return report.ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  cli().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`chaos: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
