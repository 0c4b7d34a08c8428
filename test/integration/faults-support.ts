/**
 * Shared by the fault tests (faults-*.test.ts): small recipes, polling, process inspection
 * through /proc, and a worker agent run as a separate `ipa worker` process that can be SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobId, type Stage } from '../../orchestrator/plan/stages.js';
import type { QueueKind } from '../../orchestrator/plan/stages.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { REPO, TINY_MODEL, tinyRecipe, type Harness } from '../helpers/harness.js';
import { redisUrl } from '../helpers/redis.js';

/**
 * One shard of 12 seeds, no revision, no eval: sample (48 responses, small batches so the job
 * runs for seconds and reports progress) → verify → pair (2 pairs with this seed) → train
 * (batch 1, 3 epochs: 6 steps, a checkpoint after each).
 */
export const ROUND_RECIPE = tinyRecipe({
  data: { shard_size: 12 },
  rounds: [{ name: 'automated', revision: false }],
  sampling: { max_new_tokens: 8, batch_size: 2 },
  eval: { after: 'none' },
  training: { train_reviser: false, dpo: { batch_size: 1, epochs: 3, save_steps: 1 } },
});
/** Queues a round of ROUND_RECIPE needs (eval would only run the report). */
export const ROUND_QUEUES: QueueKind[] = ['control', 'prepare', 'sample', 'verify', 'pair', 'train'];
export const ROUND_RESPONSES = 12 * 4;

/** Sampling faults only: 6 seeds per shard (24 responses each); `shards` shards. */
export function sampleRecipe(shards = 1): Record<string, unknown> {
  return tinyRecipe({
    data: shards === 1 ? { max_seeds: 6, shard_size: 6 } : { shard_size: 6 },
    rounds: [{ name: 'automated', revision: false }],
    // Long enough (many tokens per batch) that a fault injected mid-job still finds work left on a fast machine:
    // the random tiny model, which never stops early (the answering fixture ends after a word or two).
    model: { base: TINY_MODEL, build_tiny: true },
    sampling: { max_new_tokens: 32, batch_size: 2 },
    eval: { after: 'none' },
  });
}
export const SAMPLE_QUEUES: QueueKind[] = ['control', 'prepare', 'sample'];

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 300_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const idOf = (store: RunStore, stage: Stage, round = 1, shard = 0) =>
  jobId({ runId: store.id, round, stage, shard });

/** Waits until the job's reported progress is strictly between start and end: it is mid-way. */
/**
 * Waits until the job reports progress strictly inside (0, total); `maxFraction` asks for an early
 * point, so a fault injected next still finds work left (progress reaches Redis at most 2×/s).
 */
export async function waitMidway(
  h: Harness,
  queue: QueueKind,
  id: string,
  timeoutMs = 300_000,
  maxFraction = 1,
): Promise<{ done: number; total: number }> {
  return waitFor(
    `${id} to report progress`,
    async () => {
      const job = await h.queues.queue(queue).getJob(id);
      const p = job?.progress as { done?: number; total?: number } | undefined;
      const ok =
        p &&
        typeof p.done === 'number' &&
        typeof p.total === 'number' &&
        p.done > 0 &&
        p.done < p.total &&
        p.done <= p.total * maxFraction;
      return ok ? { done: p.done!, total: p.total! } : undefined;
    },
    timeoutMs,
    50,
  );
}

/**
 * Stops a job's Python process (SIGSTOP) part-way through its work and returns with it stopped, for
 * a fault that must land mid-job. Watching progress alone (`waitMidway`) misses on an idle machine:
 * ROUND_RECIPE's sampling ran in 0.9 s there, with no report of work left that a poll caught. So once
 * the job is active, its process runs in short steps, each followed by a pause long enough for the
 * held progress to reach Redis (both throttles pass one update per 0.5 s), until the job reports
 * work done with work left. The caller kills the process, or sends SIGCONT.
 */
export async function freezeMidway(
  h: Harness,
  queue: QueueKind,
  id: string,
  pidOf: () => number | undefined,
  timeoutMs = 300_000,
): Promise<{ done: number; total: number; pid: number }> {
  const midway = async () => {
    const p = (await h.queues.queue(queue).getJob(id))?.progress as { done?: number; total?: number } | undefined;
    return p && typeof p.done === 'number' && typeof p.total === 'number' && p.done > 0 && p.done < p.total
      ? { done: p.done, total: p.total }
      : undefined;
  };
  return waitFor(
    `${id} stopped part-way`,
    async () => {
      const job = await h.queues.queue(queue).getJob(id);
      const state = await job?.getState();
      if (state === 'completed') throw new Error(`${id} completed before it could be stopped part-way`);
      const pid = pidOf();
      if (state !== 'active' || pid === undefined) return undefined;
      process.kill(pid, 'SIGSTOP');
      await sleep(700);
      const at = await midway();
      if (at) return { ...at, pid };
      process.kill(pid, 'SIGCONT');
      await sleep(40);
      return undefined;
    },
    timeoutMs,
    20,
  );
}

export function attemptLines(store: RunStore, id: string): Array<Record<string, unknown>> {
  const p = store.abs(`jobs/${id}.attempts`);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

export function jsonlRows(path: string): number {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;
}

/** Alive means present and not a zombie (a container's init may never reap an orphan). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Python worker processes (`-m ipa_worker serve`) whose parent is `ppid`. */
export function pythonChildren(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== ppid) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes('ipa_worker')) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The newest `checkpoint-<step>` under `dir` that the Trainer finished writing (its state file is written last). */
export function lastCompleteCheckpoint(dir: string): number {
  if (!existsSync(dir)) return 0;
  const steps = readdirSync(dir)
    .map((d) => /^checkpoint-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  if (!steps.length || !existsSync(join(dir, `checkpoint-${steps[0]}`, 'trainer_state.json'))) return 0;
  return steps[0];
}

/** An `ipa worker` in its own Node process, so that a test can SIGKILL the whole agent. */
export class AgentProcess {
  readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<void>;

  constructor(h: Harness, queues: readonly QueueKind[], extra: string[] = []) {
    const args = [
      '--import',
      'tsx',
      'orchestrator/cli/main.ts',
      'worker',
      '--redis-url',
      redisUrl(),
      '--prefix',
      h.prefix,
      '--queues',
      queues.join(','),
      ...extra,
    ];
    this.child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => (this.output = (this.output + b.toString()).slice(-20_000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The last output lines (for failure messages). */
  tail(): string {
    return this.output.split('\n').slice(-30).join('\n');
  }

  async kill9(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
