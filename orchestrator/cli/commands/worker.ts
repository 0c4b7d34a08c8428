import { resolve } from 'node:path';
import { DEFAULT_GRACE_MS, WorkerAgent } from '../../agent/agent.js';
import { recipePlans, refusal, workerCard } from '../../agent/memory-gate.js';
import { planLines } from '../../plan/memory-plan.js';
import { loadRecipe } from '../../recipe/load.js';
import { DEFAULT_STOP_MS } from '../../deadline.js';
import { deviceSetup, type DeviceSetup } from '../../agent/devices.js';
import { QUEUE_KINDS, type QueueKind } from '../../plan/stages.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { configureConsoleLog, rootLogger } from '../../log.js';
import {
  COMMON_HELP,
  intFlag,
  LOG_HELP,
  logFormat,
  logOptions,
  parse,
  prefix,
  reachableRedis,
  WORKER_TIMING_HELP,
  workerTiming,
  workerTimingOptions,
} from '../context.js';
import { workerLine } from '../progress-line.js';
import { ProgressTicker } from '../progress-ticker.js';
import { onInterrupt } from '../interrupt.js';
import { exitAfter, exitNow, orderlyPart, stopHelp, stopMs, stopOptions } from '../stop.js';
import { LiveTerminal } from '../terminal.js';
import type { Device } from '../../contract/protocol.js';
import type { Recipe } from '../../recipe/schema.js';

export const command: Command = {
  name: 'worker',
  summary: 'Run a worker agent: take jobs from queues, run them in Python processes',
  help: `Usage: ipa worker [--queues q1,q2] [--gpu N | --gpus N,M,... | --gpus N-M] [--train-procs N]
                   [--nodes N [--node-addr ADDR]]
                   [--concurrency N] [--lock-ms MS] [--stalled-ms MS] [--max-stalled N] [--grace-ms MS] [--stop-ms MS]
                  [--run-root DIR ...] [--allow-eviction] [--log-format human|json]
                  [--recipe FILE] [--card-gib N] [--skip-memory-check]

Queues: ${QUEUE_KINDS.join(', ')} (default: all). One long-lived Python process per slot keeps
models loaded; training runs in a fresh process. --gpus gives a train worker several devices:
each training job (train, sft) then runs as one process per device, started and stopped as
one group by torch's elastic launcher (DDP, or FSDP for full fine-tuning; recipe
training.distributed); the recipe's global batch is split over them. Other jobs use the first
device. --train-procs N runs N training processes without a device list (CPU processes over
gloo, or every GPU the machine shows). --nodes N: every training job spans N nodes, each with a
train worker started with the same --nodes; the worker that takes a job leads (it serves the
rendezvous at --node-addr, default the host name, which the other nodes must reach), the others
join it through Redis, and the node that runs global rank 0 writes the done record.
SIGTERM/SIGINT: stop taking jobs, let the running
ones finish for up to --grace-ms (default ${DEFAULT_GRACE_MS}), then stop within --stop-ms more (below): the
rest go back to the queue (no try used; training resumes from its last checkpoint); a second
signal exits at once. A dead worker's jobs go back to the queue once its
lock (--lock-ms) has expired and another worker's stall check (every --stalled-ms) sees it;
a job that stalls more than --max-stalled times fails. A Redis whose maxmemory-policy may evict
keys is refused (exit code 4: BullMQ would lose jobs) unless --allow-eviction is given.

Memory plan (docs/deployment.md, "Memory plan"): what one card holds for a recipe on this
worker's queues (base weights once, adapters, the vLLM engine's share, KV cache, activations).
--recipe FILE prints it at start and refuses to start when it cannot fit, naming the setting to
change; without it the plan of each run is printed at the run's first job, and a plan that
cannot fit refuses that run's jobs. --card-gib N plans for a card of N GiB instead of the CUDA
device found (none found: nothing is checked). --skip-memory-check takes the jobs anyway (the
plan's activations are estimates).

Which runs it serves is decided on this host, never by Redis: the runs its user registered here
(ipa submit, ipa run and ipa resume record them in runs.jsonl in the state folder) and the runs
under a --run-root (repeatable; or $IPA_RUN_ROOTS, ':'-separated) — a worker on another host than
ipa submit names the shared runs folder. Jobs of any other run are refused, nothing written.
With IPA_SECRET_FILE set (the same secret on every host, outside Redis), only jobs signed with
it by ipa submit/resume are taken (docs/reliability.md, "Threat model").
Examples:
  ipa worker --queues sample,verify,revise --gpu 0 --concurrency 1
  ipa worker --queues train --gpu 1
  ipa worker --queues train --gpus 4,5,6,7 --lock-ms 300000   # one DPO job on four GPUs
  ipa worker --queues train --gpus 0-7 --nodes 2 --node-addr 10.0.0.5   # on each of two nodes: 16 GPUs a job
  ipa worker --queues control,prepare,pair          # CPU-only helper
  ipa worker --queues sample,verify,revise --gpu 0 --lock-ms 300000   # 7B generation
  ipa worker --queues train --gpu 0 --run-root /shared/runs   # a second host, runs on a shared disk
  ipa worker --queues sample,verify,revise,eval --gpu 0 --recipe recipes/qwen2vl-7b-ipa.yaml   # plan first

Prints a line per job started and finished (what it produced, how long it took) and, on a
terminal, a live line with the running jobs' progress.

${LOG_HELP}

${WORKER_TIMING_HELP}

${stopHelp('jobs still running after --grace-ms are cancelled and handed back, the Python processes stop (killed if they do not), the worker leaves the list of workers')}
  The whole stop takes at most --grace-ms + --stop-ms (${(DEFAULT_GRACE_MS + DEFAULT_STOP_MS) / 1000} s by default).

${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        queues: { type: 'string' },
        gpu: { type: 'string' },
        gpus: { type: 'string' },
        'train-procs': { type: 'string' },
        nodes: { type: 'string' },
        'node-addr': { type: 'string' },
        concurrency: { type: 'string', default: '1' },
        ...workerTimingOptions,
        'max-stalled': { type: 'string' },
        'grace-ms': { type: 'string', default: String(DEFAULT_GRACE_MS) },
        python: { type: 'string' },
        'allow-eviction': { type: 'boolean', default: false },
        'run-root': { type: 'string', multiple: true },
        recipe: { type: 'string' },
        'card-gib': { type: 'string' },
        'skip-memory-check': { type: 'boolean', default: false },
        ...logOptions,
        ...stopOptions,
      },
      false,
    );
    const stop = stopMs(values);
    const grace = intFlag(values, 'grace-ms', 0)!;
    let devices: DeviceSetup;
    try {
      devices = deviceSetup({
        gpu: values.gpu,
        gpus: values.gpus,
        trainProcs: intFlag(values, 'train-procs', 1),
        nodes: intFlag(values, 'nodes', 1),
      });
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError((err as Error).message, ExitCode.usage);
    }
    const format = logFormat(values);
    const url = await reachableRedis(values);
    const queues = (values.queues ? values.queues.split(',').map((s) => s.trim()) : [...QUEUE_KINDS]) as QueueKind[];
    const bad = queues.filter((q) => !(QUEUE_KINDS as readonly string[]).includes(q));
    if (bad.length)
      throw new CliError(`unknown queue(s): ${bad.join(', ')}; known: ${QUEUE_KINDS.join(', ')}`, ExitCode.usage);
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new CliError('--concurrency must be a positive integer', ExitCode.usage);
    const timing = workerTiming(values);
    const maxStalledCount = intFlag(values, 'max-stalled', 0);
    const cardGib = values['card-gib'] === undefined ? undefined : Number(values['card-gib']);
    if (cardGib !== undefined && !(cardGib > 0))
      throw new CliError('--card-gib must be a positive number of GiB', ExitCode.usage);
    const recipe = values.recipe ? loadRecipe(values.recipe, { missingAsWarnings: true }).recipe : undefined;
    const term = new LiveTerminal(
      process.stderr,
      format === 'human' && !!process.stderr.isTTY && process.env.TERM !== 'dumb',
    );
    configureConsoleLog({ format, writeLine: (t) => term.line(t) });
    const agent = await WorkerAgent.start({
      redisUrl: url,
      prefix: prefix(values),
      queues,
      gpu: devices.visible,
      trainProcesses: devices.trainProcesses,
      nodes: devices.nodes,
      nodeAddr: values['node-addr'],
      concurrency,
      python: values.python,
      ...timing,
      maxStalledCount,
      allowEviction: values['allow-eviction'],
      runRoots: values['run-root'] ? values['run-root'].map((r) => resolve(r)) : undefined,
      cardGib,
      skipMemoryCheck: values['skip-memory-check'],
      beforeServing: recipe
        ? (ready) =>
            checkRecipeMemory(
              recipe,
              values.recipe!,
              queues,
              devices.trainProcesses,
              ready?.devices ?? [],
              cardGib,
              values['skip-memory-check'],
            )
        : undefined,
    });
    rootLogger.info(
      `worker ${agent.id} serving ${queues.join(', ')} (Ctrl-C to stop: running jobs get --grace-ms to finish)`,
    );
    const t0 = Date.now();
    const line = async (now: number) => {
      const jobs = agent.activeJobs();
      return jobs.length || term.live
        ? workerLine({ upMs: now - t0, done: agent.jobsDone, jobs, now, width: term.width })
        : undefined;
    };
    const ticker = new ProgressTicker({ term, log: rootLogger, line }).start();
    let dispose = () => undefined as void;
    await new Promise<void>((res) => {
      dispose = onInterrupt({
        first: () => res(),
        again() {
          rootLogger.warn('second signal: exiting now; running jobs go back to the queue when their locks expire');
          exitNow(agent.pythonPids(), ExitCode.interrupted);
        },
      });
    });
    ticker.stop();
    rootLogger.info(
      `stopping: running jobs get ${grace} ms to finish, then go back to the queue (done within ${grace + stop} ms)`,
    );
    exitAfter(grace + stop, ExitCode.interrupted, () => agent.pythonPids());
    await agent.close(grace, orderlyPart(stop));
    dispose();
    return ExitCode.ok;
  },
};

/** `--recipe`: the recipe's memory plan on this worker, printed; a plan that cannot fit stops the start (exit 3). */
function checkRecipeMemory(
  recipe: Recipe,
  file: string,
  queues: readonly string[],
  trainProcesses: number,
  devices: readonly Device[],
  cardGib: number | undefined,
  skip: boolean,
): void {
  const card = workerCard(devices, cardGib);
  if (!card) {
    rootLogger.info(
      `memory plan of ${file}: no CUDA device here, nothing to check (--card-gib N plans for a card of N GiB)`,
    );
    return;
  }
  const plans = recipePlans(recipe, card, queues, trainProcesses);
  if (!plans)
    throw new CliError(
      `memory plan of ${file}: ${recipe.model.base} has no config.json to plan from`,
      ExitCode.invalidInput,
    );
  for (const line of [`memory plan of ${file} on this worker:`, ...plans.flatMap(planLines)]) rootLogger.info(line);
  const why = refusal(plans);
  if (why && !skip) throw new CliError(`${why} (or start with --skip-memory-check)`, ExitCode.invalidInput);
}
