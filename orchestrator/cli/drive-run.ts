/**
 * Runs one run to its end from this command (`ipa run`): a private Redis when none is given, an
 * in-process worker when none is connected, a line per event and a live progress line, then the
 * results table.
 *
 * Ctrl-C or SIGTERM: the first marks the run `interrupted` at once (so even a forced exit leaves
 * it resumable), hands the running jobs back, stops the private Redis and prints the command that
 * continues the run, all within `stopMs` whether or not Redis answers; a second exits at once.
 * Continuing is `ipa run <id>`: a fresh private Redis is empty, so the current round is planned
 * again from the done records (only missing jobs run).
 */
import { existsSync } from 'node:fs';
import { configureConsoleLog, LEVELS, logToRunDir, rootLogger, type LogFormat } from '../log.js';
import { activeJobsOf } from '../queue/active-jobs.js';
import type { Recipe } from '../recipe/schema.js';
import { resultsTable, roundResults } from '../report/results.js';
import { LocalSession, type LocalWorkerOptions } from '../run/local-session.js';
import { stageProgress } from '../run/eta.js';
import { RunMonitor } from '../run/monitor.js';
import { resumeRun } from '../run/resume.js';
import { submitRun } from '../run/submit.js';
import { waitForRun } from '../run/wait.js';
import type { Manifest } from '../store/manifest.js';
import { runDurationMs } from '../store/run-duration.js';
import type { RunInfo, RunState, RunStore } from '../store/run-store.js';
import { ExitCode } from './command.js';
import { continueCommand } from './continue-command.js';
import { repairLines } from './damage-report.js';
import { onInterrupt } from './interrupt.js';
import { progressLine } from './progress-line.js';
import { duration } from '../report/stage-words.js';
import { ProgressTicker } from './progress-ticker.js';
import { shortPath } from './run-table.js';
import { exitAfter, exitNow, orderlyPart } from './stop.js';
import { LiveTerminal } from './terminal.js';

export interface DriveOptions {
  /** A new run from a recipe, or an existing run to continue. */
  start:
    | { recipe: Recipe; recipeFile: string; id?: string; runsDir?: string; allowEviction?: boolean }
    | { store: RunStore };
  /** @defaultValue a private redis-server */
  redisUrl?: string;
  prefix: string;
  worker: LocalWorkerOptions;
  /** Start an in-process worker when none is connected. */
  localWorker: boolean;
  logFormat: LogFormat;
  /** Print the outcome as JSON on stdout. */
  json: boolean;
  /** The runs folder the command looks in (decides whether the id alone finds the run again). */
  runsDir: string;
  /** How long the stop after a signal may take, whatever the state of Redis (`--stop-ms`). */
  stopMs: number;
}

export async function driveRun(o: DriveOptions): Promise<number> {
  const term = new LiveTerminal(
    process.stderr,
    o.logFormat === 'human' && !!process.stderr.isTTY && process.env.TERM !== 'dumb',
  );
  // The run's own lines say what the in-process worker did; its info lines stay in the JSON log.
  configureConsoleLog({
    format: o.logFormat,
    writeLine: (t) => term.line(t),
    show: (e) => !(e.worker && Number(e.level) < LEVELS.warn),
  });
  const log = rootLogger;
  let session: LocalSession | undefined;
  let store: RunStore | undefined;
  let interrupted: NodeJS.Signals | undefined;
  let onStop: (signal: NodeJS.Signals) => void = () => undefined;
  const stopRequested = new Promise<'interrupted'>((res) => (onStop = () => res('interrupted')));
  const sayContinue = (s: RunStore) => sayInterrupted(s, o);
  const dispose = onInterrupt({
    first(signal) {
      interrupted = signal;
      // Written before anything else: a forced exit a moment later still leaves a resumable run.
      store?.setState('interrupted');
      log.warn(
        `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping — running jobs go back to the queue${session?.privateRedis ? ', the private Redis stops' : ''} (Ctrl-C again to exit at once)`,
      );
      exitAfter(o.stopMs, ExitCode.interrupted, () => session?.pythonPids() ?? []);
      onStop(signal);
    },
    again() {
      term.clearStatus();
      log.warn('second Ctrl-C: exiting now, without waiting for running jobs (they are computed again on continue)');
      if (store) sayContinue(store);
      // The private redis-server is killed by its exit hook (LocalRedis).
      exitNow(session?.pythonPids() ?? [], ExitCode.interrupted);
    },
  });
  try {
    session = await LocalSession.open({ redisUrl: o.redisUrl, prefix: o.prefix, worker: o.worker });
    if (session.privateRedis)
      log.info(
        `started a private redis-server on 127.0.0.1:${session.privateRedis.port} (stopped when this command ends; \`ipa workers\` and \`ipa dashboard\` in another terminal find it)`,
      );
    if (session.noteProblem) log.warn(`${session.noteProblem}: \`ipa workers\` and \`ipa dashboard\` will not find it`);
    const resumed = 'store' in o.start;
    if (!interrupted) {
      store = 'store' in o.start ? o.start.store : await submitRun({ ...o.start, queues: session.queues });
      logToRunDir(store.id, store.dir, { driving: true });
    }
    if (interrupted || !store) {
      store?.setState('interrupted');
      if (store) sayContinue(store);
      return ExitCode.interrupted;
    }
    if (resumed) {
      if (await continueRun(store, session, log)) return finish(store, 'completed', o);
    } else log.info(`run ${store.id} → ${shortPath(store.dir)}`);
    if (interrupted) store.setState('interrupted');
    if (o.localWorker && !(await session.hasWorkers())) {
      log.info('no worker connected: starting an in-process worker for every queue');
      await session.startWorker();
    }
    const run = store;
    const state = await watchRun(run, session, term, resumed, stopRequested);
    if (state === 'interrupted' || interrupted) {
      await session.close({ graceMs: 0, stopMs: orderlyPart(o.stopMs) });
      session = undefined;
      sayContinue(run);
      return ExitCode.interrupted;
    }
    return finish(run, state, o);
  } finally {
    await session?.close(interrupted ? { graceMs: 0, stopMs: orderlyPart(o.stopMs) } : {});
    dispose();
  }
}

/**
 * "run X: completed in 52m10s": the run's time as `ipa status` counts it (store/run-duration.ts),
 * from its first start, pauses included, not this command's session.
 */
export function outcomeLine(
  id: string,
  state: RunState,
  info: Pick<RunInfo, 'state' | 'created_at' | 'updated_at'>,
): string {
  return `run ${id}: ${state} in ${duration(runDurationMs(info))}`;
}

/** What an interrupted run kept, and the command that continues it. */
function sayInterrupted(s: RunStore, o: Pick<DriveOptions, 'runsDir' | 'redisUrl'>): void {
  const log = rootLogger;
  log.info(
    { run: s.id, event: 'interrupted' },
    `run ${s.id} interrupted: everything finished so far is kept in ${shortPath(s.dir)}`,
  );
  const command = continueCommand(s, o.runsDir, o.redisUrl);
  log.info({ run: s.id, event: 'continue', command }, `continue it with:  ${command}`);
}

/**
 * `ipa run <id>`: queues what is missing (saying which damaged outputs are computed again);
 * true when the run was already complete.
 */
async function continueRun(store: RunStore, session: LocalSession, log: typeof rootLogger): Promise<boolean> {
  const r = await resumeRun(store, session.queues);
  // One line each: a terminal line shows a message's first line only.
  if (r.repair.damage.length)
    for (const line of repairLines(store.id, r.repair))
      log.warn({ run: store.id, event: 'repaired', damage: r.repair.damage.length }, line.trim());
  if (r.completed) {
    log.info(`run ${store.id} is complete: nothing to do`);
    return true;
  }
  log.info(
    `continuing run ${store.id} (${shortPath(store.dir)}): round ${r.round}, ${r.enqueued} jobs queued, ${r.kept} finished jobs kept`,
  );
  return false;
}

/** Waits for the run's end (or a stop), with a line per finished job and one live progress line. */
async function watchRun(
  run: RunStore,
  session: LocalSession,
  term: LiveTerminal,
  resumed: boolean,
  stopRequested: Promise<'interrupted'>,
): Promise<RunState | 'interrupted'> {
  const log = rootLogger;
  const monitor = new RunMonitor(run, { log, replayDone: !resumed });
  let latest: Manifest | undefined;
  const line = async (now: number) => {
    if (!latest) return undefined;
    const stages = stageProgress(latest, await activeJobsOf(session.queues, run.id).catch(() => []), now);
    return stages.length
      ? progressLine({ elapsedMs: runDurationMs(latest.run, now), stages, now, width: term.width })
      : undefined;
  };
  const ticker = new ProgressTicker({ term, log: log.child({ run: run.id }), line }).start();
  try {
    const waited = waitForRun(run, {
      onPoll: (m) => {
        latest = m;
        monitor.update(m);
      },
    });
    return await Promise.race([stopRequested, waited]);
  } finally {
    ticker.stop();
  }
}

/** Prints the outcome (results table, report paths, the error) and returns the exit code. */
function finish(store: RunStore, state: RunState, o: DriveOptions): number {
  const results = roundResults(store);
  const info = store.info();
  if (o.json)
    console.log(
      JSON.stringify({ id: store.id, dir: store.dir, state, seconds: runDurationMs(info) / 1000, results }, null, 2),
    );
  else {
    console.log(`\n${outcomeLine(store.id, state, info)}\n`);
    console.log(resultsTable(results));
    const report = store.abs('report.md');
    if (existsSync(report))
      console.log(
        `\nreport: ${report}${existsSync(store.abs('accuracy.png')) ? `\nplot:   ${store.abs('accuracy.png')}` : ''}`,
      );
    if (state === 'failed') console.log(`\nerror: ${store.info().error ?? 'see logs'} (ipa logs ${store.id})`);
  }
  return state === 'completed'
    ? ExitCode.ok
    : state === 'cancelled'
      ? ExitCode.cancelled
      : state === 'interrupted'
        ? ExitCode.interrupted
        : ExitCode.failed;
}
