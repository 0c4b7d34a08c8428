/**
 * What most commands share: where Redis is, which queue prefix, where runs live, and finding
 * a run by id. Flags beat environment variables beat defaults.
 */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configureConsoleLog, LOG_FORMATS, type LogFormat } from '../log.js';
import { connect, ping, redactUrl } from '../queue/connection.js';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_PREFIX, DEFAULT_STALLED_INTERVAL_MS, QueueSet } from '../queue/queues.js';
import { closest } from '../recipe/errors.js';
import { livePrivateRedisNotes, privateRedisNotesDir } from '../store/private-redis-notes.js';
import { lookupRun } from '../store/run-lookup.js';
import { registeredRuns, registryFile } from '../store/run-registry.js';
import { RunStore } from '../store/run-store.js';
import { runTable } from './run-table.js';
import { CliError, ExitCode } from './command.js';

export const commonOptions = {
  'redis-url': { type: 'string' },
  prefix: { type: 'string' },
  'runs-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Common options:
  --redis-url URL   Redis to use (default: $REDIS_URL; redis:// or rediss:// with password)
  --prefix P        queue namespace (default: $IPA_QUEUE_PREFIX or "ipa")
  --runs-dir DIR    where run directories live (default: $IPA_RUNS_DIR or ./runs)
  --json            machine-readable output`;

/**
 * BullMQ Worker options are per worker, not per run: `ipa worker` takes them, and so do
 * `ipa run` and `ipa ablate` for their in-process worker.
 */
export const workerTimingOptions = {
  'lock-ms': { type: 'string' },
  'stalled-ms': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const WORKER_TIMING_HELP = `Worker options (BullMQ, per worker):
  --lock-ms MS      job lock, renewed while a job runs; a lost worker's job is taken over about
                    this long after it died (default ${DEFAULT_LOCK_DURATION_MS}; the 7B recipes want 300000)
  --stalled-ms MS   how often the worker looks for stalled jobs (default ${DEFAULT_STALLED_INTERVAL_MS})`;

/** How commands that report work print their log lines. */
export const logOptions = {
  'log-format': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const LOG_HELP = `Output:
  --log-format F    human (default): a line per event in words, and on a terminal a live
                    progress line; json: pino's JSON lines on stderr. Either way every line about
                    a run is also written as JSON to runs/<id>/logs/orchestrator.jsonl`;

/** The --log-format flag (usage error when unknown), applied to the console. */
export function logFormat(values: { 'log-format'?: string }): LogFormat {
  const f = values['log-format'] ?? 'human';
  if (!(LOG_FORMATS as readonly string[]).includes(f))
    throw new CliError(`--log-format must be one of ${LOG_FORMATS.join(', ')}`, ExitCode.usage);
  configureConsoleLog({ format: f as LogFormat });
  return f as LogFormat;
}

/** An integer flag >= `min`, or undefined when not given; anything else is a usage error. */
export function intFlag(values: Record<string, unknown>, name: string, min: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} must be an integer >= ${min}`, ExitCode.usage);
  return n;
}

/** The agent options the worker timing flags give. */
export function workerTiming(values: { 'lock-ms'?: string; 'stalled-ms'?: string }): {
  lockDurationMs?: number;
  stalledIntervalMs?: number;
} {
  return { lockDurationMs: intFlag(values, 'lock-ms', 1), stalledIntervalMs: intFlag(values, 'stalled-ms', 1) };
}

export function parse<O extends ParseArgsConfig['options']>(argv: string[], options: O, positionals = true) {
  try {
    return parseArgs({
      args: argv,
      options: { ...commonOptions, ...options },
      allowPositionals: positionals,
      strict: true,
    });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.usage);
  }
}

export interface Common {
  'redis-url'?: string;
  prefix?: string;
  'runs-dir'?: string;
  json?: boolean;
}

export function runsDir(v: Common): string {
  return resolve(v['runs-dir'] ?? process.env.IPA_RUNS_DIR ?? 'runs');
}

export function redisUrl(v: Common): string | undefined {
  return v['redis-url'] ?? process.env.REDIS_URL;
}

export function prefix(v: Common): string {
  return v.prefix ?? DEFAULT_PREFIX;
}

/**
 * The queue prefix to continue a run under: the one it was submitted with (run.json), since an
 * agent takes a run's jobs only under that prefix (agent/job-trust.ts). A different --prefix is a
 * usage error: its jobs would be refused.
 */
export function runPrefix(v: Common, store: RunStore): string {
  const own = store.info().queue_prefix;
  if (v.prefix !== undefined && v.prefix !== own)
    throw new CliError(
      `run ${store.id} was submitted under queue prefix "${own}"; with --prefix ${v.prefix} no worker would take its jobs (leave --prefix out)`,
      ExitCode.usage,
    );
  return own;
}

/**
 * Where the commands that look at queues from another terminal (`ipa workers`, `ipa dashboard`)
 * look: the configured Redis, else the private one of an `ipa run` or `ipa ablate` going on (the
 * newest of those under --prefix, when given), said on stderr; else no URL.
 */
export function redisToWatch(v: Common): { url: string | undefined; prefix: string } {
  const url = redisUrl(v);
  if (url) return { url, prefix: prefix(v) };
  const notes = livePrivateRedisNotes().filter((n) => v.prefix === undefined || n.prefix === v.prefix);
  if (!notes.length) return { url: undefined, prefix: prefix(v) };
  const [n, ...others] = notes;
  const more = others.length
    ? `; ${others.length} more (pid ${others.map((o) => o.pid).join(', ')}) are noted in ${privateRedisNotesDir()}: pass --redis-url to choose`
    : '';
  console.error(
    `no REDIS_URL: using the private Redis of the \`ipa run\` going on (pid ${n.pid}, since ${n.started_at}) at ${redactUrl(n.url)}${more}`,
  );
  return { url: n.url, prefix: n.prefix };
}

/** The configured Redis URL (or `url`) once it answers, or a CliError with exit code 4 and a readable reason. */
export async function reachableRedis(v: Common, url: string | undefined = redisUrl(v)): Promise<string> {
  if (!url) throw new CliError('no Redis configured: set REDIS_URL or pass --redis-url', ExitCode.redisUnavailable);
  try {
    await ping(url);
  } catch (err) {
    throw new CliError(
      `cannot reach Redis at ${redactUrl(url)}: ${err instanceof Error ? err.message : err}`,
      ExitCode.redisUnavailable,
    );
  }
  return url;
}

/** Connects to the configured Redis or fails with exit code 4 and a readable reason; `queuePrefix` overrides the flag's. */
export async function openQueues(
  v: Common,
  queuePrefix: string = prefix(v),
  url: string | undefined = redisUrl(v),
): Promise<QueueSet> {
  const conn = connect(await reachableRedis(v, url));
  conn.on('error', () => undefined);
  return new QueueSet(conn, queuePrefix);
}

export async function closeQueues(q: QueueSet): Promise<void> {
  await q.close();
  await q.connection.quit().catch(() => undefined);
}

/**
 * The run a command argument names (see `lookupRun`): exit code 2 with every candidate when an
 * id prefix fits several runs, 5 when none.
 */
export function findRun(v: Common, ref: string | undefined): RunStore {
  if (!ref) throw new CliError('which run? give a run id (see `ipa list`) or a run directory', ExitCode.usage);
  const found = lookupRun(runsDir(v), ref, registeredRuns());
  switch (found.kind) {
    case 'found':
      return found.store;
    case 'ambiguous':
      throw new CliError(
        `'${ref}' fits ${found.candidates.length} runs; give more of the id:\n${runTable(found.candidates)}`,
        ExitCode.usage,
      );
    case 'gone':
      throw new CliError(`run ${found.run.id} was at ${found.run.dir}, which no longer exists`, ExitCode.notFound);
    case 'none': {
      // A typo'd id gets the run it most likely meant.
      const guess = closest(
        ref,
        new Set([...RunStore.listAll(runsDir(v)).map((r) => r.id), ...registeredRuns().map((r) => r.id)]),
      );
      const hint = guess ? ` (did you mean '${guess}'?)` : '';
      throw new CliError(
        `no run '${ref}'${hint} under ${runsDir(v)} or in ${registryFile()} (\`ipa list\` shows the runs it knows; a run directory path works too)`,
        ExitCode.notFound,
      );
    }
  }
}
