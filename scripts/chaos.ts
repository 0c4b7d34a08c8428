/**
 * Fault injection (`make chaos`): a multi-shard tiny run on a private Redis while a seeded schedule
 * kills worker agents (-9), kills their Python processes, restarts Redis hard and once wipes it
 * (FLUSHALL, then `ipa resume`). The final pairs are compared with an undisturbed run of the same
 * recipe and seed, and the run directory is checked for lost or doubly counted shards.
 *
 *   npx tsx scripts/chaos.ts [--seed N] [--kills N] [--reduced]
 *
 * Prints the figures and writes them to test-artifacts/chaos.json; exit code 1 on any loss or
 * mismatch. `runChaos` is the same core for test/chaos/chaos.test.ts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { flattenPlan, planPreparation, planRound, roundCount } from '../orchestrator/plan/planner.js';
import { connect } from '../orchestrator/queue/connection.js';
import { LocalRedis } from '../orchestrator/queue/local-redis.js';
import { QueueSet } from '../orchestrator/queue/queues.js';
import { loadRecipe } from '../orchestrator/recipe/load.js';
import { submitRun } from '../orchestrator/run/submit.js';
import { shardCount } from '../orchestrator/store/manifest.js';
import { RunStore } from '../orchestrator/store/run-store.js';
import { ensureAnsweringModel } from '../test/helpers/answering-model.js';

const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'orchestrator', 'cli', 'main.ts');

export type FaultKind = 'agent-kill' | 'python-kill' | 'redis-restart' | 'flushall';

export interface ChaosOptions {
  seed: number;
  /** Process kills (agents and Python processes together); the reduced form does one of each. */
  kills: number;
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
  /** Scheduled faults the run finished before. */
  faults_not_fired: FaultKind[];
  /** Jobs whose attempt counter went above 1 (a try was lost and the shard computed again). */
  shards_recomputed: number;
  recomputed_jobs: string[];
  pairs_expected: number;
  pairs_found: number;
  pairs_lost: number;
  pairs_equal: boolean;
  missing_done_records: string[];
  unexpected_done_records: string[];
  duplicate_pair_rows: number;
  shard_row_mismatches: string[];
  chaos_state: string;
  wall_s: { undisturbed: number; chaos: number; total: number };
  ok: boolean;
  problems: string[];
}

/** mulberry32: a tiny seeded PRNG, so a schedule is reproducible from `--seed`. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Multi-shard tiny recipe (4 shards of 3 seeds) on the answering fixture model, so shards have pairs to compare;
 * its own synthetic folder so other tests' data settings never clash with it.
 */
function chaosRecipe(work: string, reduced: boolean): Record<string, unknown> {
  return {
    name: 'chaos',
    seed: 3,
    model: { base: ensureAnsweringModel(), build_tiny: false, device: 'cpu', dtype: 'float32' },
    data: { synthetic: { enabled: true, output_dir: join(REPO, '.cache', 'chaos-data', 'synthetic'), train_size: 12, heldout_size: 4, seed: 0 }, shard_size: 3 },
    sampling: { num_normal: 2, num_contrastive: 2, max_new_tokens: 6, batch_size: 16 },
    verifier: { kind: 'rule' },
    reviser: { max_new_tokens: 8, max_revisions_per_seed: 1 },
    pairs: { max_pairs_per_seed: 2 },
    rounds: reduced ? [{ name: 'automated' }] : [{ name: 'automated' }, { name: 'automated' }],
    training: { dpo: { batch_size: 4, epochs: 1, learning_rate: 1e-4, max_length: 256, save_steps: 1 } },
    eval: { max_new_tokens: 6 },
    // Every kill costs a try: leave room so the faults, not the retry budget, are what is tested.
    orchestration: { attempts: 10, backoff_ms: 200 },
    runs_dir: join(work, 'runs'),
    allowed_roots: [work],
  };
}

/** Agent flags; `--stalled-ms` only when this checkout's `ipa worker` has it (else lock expiry + BullMQ's default check). */
function agentFlags(): string[] {
  const help = execFileSync(process.execPath, ['--import', 'tsx', CLI, 'worker', '--help'], { cwd: REPO, encoding: 'utf8' });
  return ['--lock-ms', '4000', '--grace-ms', '1000', ...(help.includes('--stalled-ms') ? ['--stalled-ms', '2000'] : [])];
}

class Fleet {
  readonly agents = new Set<ChildProcess>();
  private n = 0;
  constructor(
    private readonly url: () => string,
    private readonly prefix: string,
    private readonly logDir: string,
    private readonly flags: string[],
  ) {}

  start(): ChildProcess {
    const out = openSync(join(this.logDir, `agent-${this.prefix}-${this.n++}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--redis-url', this.url(), '--prefix', this.prefix, ...this.flags], {
      cwd: REPO,
      stdio: ['ignore', out, out],
      env: { ...process.env, IPA_LOG_LEVEL: process.env.IPA_LOG_LEVEL ?? 'info' },
    });
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
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'ipa_worker'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
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

/** Waits for a terminal state; a run with no new done record for `stallMs` counts as hung. */
async function waitRun(store: RunStore, stallMs: number, onTick?: (done: number) => Promise<void>): Promise<string> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const state = store.info().state;
    if (['completed', 'failed', 'cancelled'].includes(state)) return state;
    const done = store.doneIds().size;
    if (done !== last) {
      last = done;
      since = Date.now();
    }
    if (Date.now() - since > stallMs) return 'hung';
    if (onTick) await onTick(done);
    await sleep(300);
  }
}

function readJsonl(p: string): Record<string, unknown>[] {
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Pair rows as content: run-specific fields (id, run dir) left out, keys sorted, in a stable order. */
export function canonicalPairs(store: RunStore): string[] {
  const out: string[] = [];
  for (const d of readdirSync(store.dir).filter((x) => x.startsWith('round-')).sort()) {
    let files: string[] = [];
    try {
      files = readdirSync(store.abs(`${d}/pairs`)).filter((f) => f.endsWith('.jsonl'));
    } catch {
      continue;
    }
    for (const f of files)
      for (const p of readJsonl(store.abs(`${d}/pairs/${f}`))) {
        const { id: _id, ...rest } = p;
        out.push(JSON.stringify(sortKeys(rest)).split(store.dir).join('<run>'));
      }
  }
  return out.sort();
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

/** Every job the plan holds for the run's rounds, from the run directory alone. */
function plannedJobs(store: RunStore): string[] {
  const recipe = store.recipe();
  const nodes = flattenPlan(planPreparation(recipe, store.id));
  for (let r = 1; r <= roundCount(recipe); r++) nodes.push(...flattenPlan(planRound(recipe, store.id, r, shardCount(store, r))));
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
        if (lines !== o.rows) problems.push(`${rec.job_id} ${name}: done record says ${o.rows} rows, file has ${lines}`);
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

/**
 * Seeded schedule: which fault fires how long after submission, spread over 5–60 % of the
 * undisturbed run's duration (faults slow the run down; the margin covers a shared machine's jitter).
 */
function schedule(opts: ChaosOptions, refMs: number, rand: () => number): Array<{ kind: FaultKind; atMs: number }> {
  const kinds: FaultKind[] = opts.reduced ? ['agent-kill', 'python-kill', 'redis-restart', 'flushall'] : ['redis-restart', 'redis-restart', 'flushall'];
  if (!opts.reduced) for (let i = 0; i < opts.kills; i++) kinds.push(rand() < 0.5 ? 'agent-kill' : 'python-kill');
  return kinds.map((kind) => ({ kind, atMs: Math.round(refMs * (0.05 + 0.55 * rand())) })).sort((x, y) => x.atMs - y.atMs);
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const rand = prng(opts.seed);
  const work = mkdtempSync(join(tmpdir(), 'ipa-chaos-'));
  const logDir = join(work, 'logs');
  mkdirSync(logDir);
  const recipeFile = join(REPO, '.cache', `chaos-${process.pid}-${opts.seed}.yaml`);
  mkdirSync(join(REPO, '.cache'), { recursive: true });
  writeFileSync(recipeFile, stringify(chaosRecipe(work, opts.reduced)));
  const redis = await LocalRedis.start({ appendonly: true });
  const flags = agentFlags();
  const agentsWanted = 2;
  const fleets: Fleet[] = [];
  const problems: string[] = [];
  const injected: Record<FaultKind, number> = { 'agent-kill': 0, 'python-kill': 0, 'redis-restart': 0, flushall: 0 };
  let survived = 0;
  try {
    // 1. The undisturbed run.
    log(`undisturbed run (seed ${opts.seed}${opts.reduced ? ', reduced' : ''})`);
    const refFleet = new Fleet(() => redis.url, 'chaos-ref', logDir, flags);
    fleets.push(refFleet);
    for (let i = 0; i < agentsWanted; i++) refFleet.start();
    const ref = await submit(redis.url, 'chaos-ref', recipeFile);
    const refState = await waitRun(ref, 300_000);
    await refFleet.stopAll();
    const tRef = Date.now();
    if (refState !== 'completed') throw new Error(`the undisturbed run ended ${refState}: see ${logDir} and ${ref.dir}`);
    const expected = canonicalPairs(ref);
    if (!expected.length) throw new Error('the undisturbed run made no pairs: nothing to compare (change the recipe)');
    log(`undisturbed: ${expected.length} pairs, ${plannedJobs(ref).length} jobs, ${((tRef - t0) / 1000).toFixed(0)} s`);

    // 2. The same run under faults.
    const plan = schedule(opts, tRef - t0, rand);
    log(`schedule: ${plan.map((f) => `${f.kind}@${(f.atMs / 1000).toFixed(0)}s`).join(' ')}`);
    const fleet = new Fleet(() => redis.url, 'chaos-run', logDir, flags);
    fleets.push(fleet);
    for (let i = 0; i < agentsWanted; i++) fleet.start();
    const run = await submit(redis.url, 'chaos-run', recipeFile);
    const tSubmit = Date.now();
    const pending: Array<{ kind: FaultKind; doneAt: number }> = [];
    let busy = false;
    const inject = async (done: number): Promise<void> => {
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
        } else plan.unshift({ ...f, atMs: f.atMs + 1000 }); // nothing to hit now (e.g. no Python process yet): a second later
      } finally {
        busy = false;
      }
    };
    const injectFault = async (kind: FaultKind): Promise<boolean> => {
      const live = fleet.live();
      if (kind === 'agent-kill') {
        const a = live[Math.floor(rand() * live.length)];
        if (!a) return false;
        // A crashed host loses the agent and its Python processes together.
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
      if (kind === 'redis-restart') {
        await redis.restart({ hard: true });
        return true;
      }
      const conn = connect(redis.url);
      conn.on('error', () => undefined);
      await conn.flushall();
      await conn.quit();
      await new Promise<void>((res) => {
        const c = spawn(process.execPath, ['--import', 'tsx', CLI, 'resume', run.dir, '--redis-url', redis.url, '--prefix', 'chaos-run'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr?.on('data', (b) => (err += String(b)));
        c.once('exit', (code) => {
          if (code !== 0) problems.push(`ipa resume exited ${code}: ${err.trim()}`);
          res();
        });
      });
      return true;
    };
    const state = await waitRun(run, opts.reduced ? 240_000 : 300_000, inject);
    if (state === 'completed') survived += pending.length;
    // Not a loss: reported so a too-fast run is visible, and the test asserts the counts it needs.
    const notFired = plan.map((f) => f.kind);
    await fleet.stopAll();
    const tRun = Date.now();

    // 3. Compare and audit.
    if (state !== 'completed') problems.push(`the run under faults ended ${state} (${run.info().error ?? 'no error recorded'}): see ${logDir} and ${run.dir}`);
    const found = canonicalPairs(run);
    const remaining = new Map<string, number>();
    for (const p of found) remaining.set(p, (remaining.get(p) ?? 0) + 1);
    let lost = 0;
    for (const p of expected) {
      const n = remaining.get(p) ?? 0;
      if (n > 0) remaining.set(p, n - 1);
      else lost++;
    }
    const digest = (xs: string[]) => createHash('sha256').update(xs.join('\n')).digest('hex');
    const pairsEqual = digest(found) === digest(expected);
    if (!pairsEqual) problems.push(`pairs differ from the undisturbed run (${found.length} vs ${expected.length})`);
    const planned = plannedJobs(run);
    const done = run.doneIds();
    const missing = planned.filter((id) => !done.has(id));
    const unexpected = [...done].filter((id) => !planned.includes(id)).sort();
    for (const id of done) if (run.doneRecord(id)?.job_id !== id) problems.push(`done record ${id} names ${run.doneRecord(id)?.job_id}`);
    if (missing.length) problems.push(`planned jobs without a done record: ${missing.join(', ')}`);
    if (unexpected.length) problems.push(`done records outside the plan: ${unexpected.join(', ')}`);
    const rawIds = new Set<string>();
    let dup = 0;
    for (const d of readdirSync(run.dir).filter((x) => x.startsWith('round-'))) {
      let files: string[] = [];
      try {
        files = readdirSync(run.abs(`${d}/pairs`)).filter((f) => f.endsWith('.jsonl'));
      } catch {
        continue;
      }
      for (const f of files)
        for (const p of readJsonl(run.abs(`${d}/pairs/${f}`))) {
          const key = String(p.id);
          if (rawIds.has(key)) dup++;
          rawIds.add(key);
        }
    }
    if (dup) problems.push(`${dup} duplicate pair row id(s)`);
    const refRows = rowsPerShard(ref, problems);
    const runRows = rowsPerShard(run, problems);
    const rowMismatch = [...new Set([...refRows.keys(), ...runRows.keys()])].filter((k) => refRows.get(k) !== runRows.get(k)).sort();
    if (rowMismatch.length) problems.push(`rows per shard differ: ${rowMismatch.map((k) => `${k} ${refRows.get(k)}≠${runRows.get(k)}`).join(', ')}`);
    const recomputed = [...run.allAttempts()].filter(([, n]) => n > 1).map(([id]) => id).sort();
    const total = Object.values(injected).reduce((a, b) => a + b, 0);
    if (lost) problems.push(`${lost} pair(s) lost`);
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
      shards_recomputed: recomputed.length,
      recomputed_jobs: recomputed.map((id) => id.slice(run.id.length + 1)),
      pairs_expected: expected.length,
      pairs_found: found.length,
      pairs_lost: lost,
      pairs_equal: pairsEqual,
      missing_done_records: missing,
      unexpected_done_records: unexpected,
      duplicate_pair_rows: dup,
      shard_row_mismatches: rowMismatch,
      chaos_state: state,
      wall_s: { undisturbed: (tRef - t0) / 1000, chaos: (tRun - tRef) / 1000, total: (tRun - t0) / 1000 },
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
  const kinds = Object.entries(r.faults_injected).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`faults injected   ${r.faults_injected_total} (${kinds})`);
  console.log(`faults survived   ${r.faults_survived}${r.faults_not_fired.length ? ` (not fired, the run finished first: ${r.faults_not_fired.join(', ')})` : ''}`);
  console.log(`shards recomputed ${r.shards_recomputed}${r.recomputed_jobs.length ? ` (${r.recomputed_jobs.join(', ')})` : ''}`);
  console.log(`pairs lost        ${r.pairs_lost} (found ${r.pairs_found} of ${r.pairs_expected}; equal: ${r.pairs_equal})`);
  console.log(`wall time         ${r.wall_s.total.toFixed(0)} s (undisturbed ${r.wall_s.undisturbed.toFixed(0)} s, under faults ${r.wall_s.chaos.toFixed(0)} s)`);
  console.log(`machine           ${r.machine}`);
  for (const p of r.problems) console.log(`PROBLEM: ${p}`);
  console.log(r.ok ? 'chaos: ok' : 'chaos: FAILED');
}

async function cli(): Promise<number> {
  const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, kills: { type: 'string', default: '4' }, reduced: { type: 'boolean', default: false } } });
  const seed = Number(values.seed);
  const kills = Number(values.kills);
  if (!Number.isInteger(seed) || !Number.isInteger(kills) || kills < 0) {
    console.error('usage: chaos.ts [--seed N] [--kills N] [--reduced]');
    return 2;
  }
  const report = await runChaos({ seed, kills, reduced: values.reduced, log: (l) => console.error(`[chaos] ${l}`) });
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
