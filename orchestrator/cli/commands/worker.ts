import { resolve } from 'node:path';
import { WorkerAgent } from '../../agent/agent.js';
import { deviceSetup, type DeviceSetup } from '../../agent/devices.js';
import { QUEUE_KINDS, type QueueKind } from '../../plan/stages.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { configureConsoleLog, rootLogger } from '../../log.js';
import { COMMON_HELP, intFlag, LOG_HELP, logFormat, logOptions, parse, prefix, reachableRedis, WORKER_TIMING_HELP, workerTiming, workerTimingOptions } from '../context.js';
import { workerLine } from '../progress-line.js';
import { ProgressTicker } from '../progress-ticker.js';
import { LiveTerminal } from '../terminal.js';

export const command: Command = {
  name: 'worker',
  summary: 'Run a worker agent: take jobs from queues, run them in Python processes',
  help: `Usage: ipa worker [--queues q1,q2] [--gpu N | --gpus N,M,... | --gpus N-M] [--train-procs N]
                  [--nodes N [--node-addr ADDR]]
                  [--concurrency N] [--lock-ms MS] [--stalled-ms MS] [--max-stalled N] [--grace-ms MS]
                  [--run-root DIR ...] [--allow-eviction] [--log-format human|json]

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
SIGTERM/SIGINT: stop taking jobs, finish the
current one (up to --grace-ms), then exit. A dead worker's jobs go back to the queue once its
lock (--lock-ms) has expired and another worker's stall check (every --stalled-ms) sees it;
a job that stalls more than --max-stalled times fails. A Redis whose maxmemory-policy may evict
keys is refused (exit code 4: BullMQ would lose jobs) unless --allow-eviction is given.

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

Prints a line per job started and finished (what it produced, how long it took) and, on a
terminal, a live line with the running jobs' progress.

${LOG_HELP}

${WORKER_TIMING_HELP}

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
        'grace-ms': { type: 'string', default: '30000' },
        python: { type: 'string' },
        'allow-eviction': { type: 'boolean', default: false },
        'run-root': { type: 'string', multiple: true },
        ...logOptions,
      },
      false,
    );
    let devices: DeviceSetup;
    try {
      devices = deviceSetup({ gpu: values.gpu, gpus: values.gpus, trainProcs: intFlag(values, 'train-procs', 1), nodes: intFlag(values, 'nodes', 1) });
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError((err as Error).message, ExitCode.usage);
    }
    const format = logFormat(values);
    const url = await reachableRedis(values);
    const queues = (values.queues ? values.queues.split(',').map((s) => s.trim()) : [...QUEUE_KINDS]) as QueueKind[];
    const bad = queues.filter((q) => !(QUEUE_KINDS as readonly string[]).includes(q));
    if (bad.length) throw new CliError(`unknown queue(s): ${bad.join(', ')}; known: ${QUEUE_KINDS.join(', ')}`, ExitCode.usage);
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError('--concurrency must be a positive integer', ExitCode.usage);
    const timing = workerTiming(values);
    const maxStalledCount = intFlag(values, 'max-stalled', 0);
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
    });
    const term = new LiveTerminal(process.stderr, format === 'human' && !!process.stderr.isTTY && process.env.TERM !== 'dumb');
    configureConsoleLog({ format, writeLine: (t) => term.line(t) });
    rootLogger.info(`worker ${agent.id} serving ${queues.join(', ')} (Ctrl-C to stop: running jobs get --grace-ms to finish)`);
    const t0 = Date.now();
    const line = async (now: number) => {
      const jobs = agent.activeJobs();
      return jobs.length || term.live ? workerLine({ upMs: now - t0, done: agent.jobsDone, jobs, now, width: term.width }) : undefined;
    };
    const ticker = new ProgressTicker({ term, log: rootLogger, line }).start();
    await new Promise<void>((res) => {
      const stop = () => res();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    ticker.stop();
    rootLogger.info(`stopping: running jobs get ${values['grace-ms']} ms to finish, then go back to the queue`);
    await agent.close(Number(values['grace-ms']));
    return ExitCode.ok;
  },
};
