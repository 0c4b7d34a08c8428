/**
 * The worker agent (`ipa worker`): takes jobs from BullMQ queues and runs them in Python
 * processes it owns (`SlotPool`, one slot per device), or in Node for the `advance` control job.
 * It writes the run directory's attempt lines and done records; a Python result becomes a done
 * record only once it matches the contract (`parseStageResult`). With `--nodes N` a training job
 * spans N agents' devices: the agent that takes it leads, idle ones join it through Redis
 * (`train-group.ts`), and the one whose node ran global rank 0 writes the done record.
 *
 * Faults (`failures.ts`): a Python crash fails the try (BullMQ retries with backoff) and the
 * process is restarted; a dead agent's jobs are recovered by BullMQ's stalled-job check; CUDA OOM
 * retries with half the batch; `ipa cancel` aborts the run's active jobs through a pub/sub message.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { PythonError, PythonProcessExited, type PythonProcess, type ReadyInfo } from '../bridge/python-process.js';
import { ProgressThrottle } from '../bridge/progress-throttle.js';
import { stagePayloadJsonSchema } from '../contract/json-schema.js';
import type { StagePayload } from '../contract/payload.js';
import type { Device } from '../contract/protocol.js';
import { Deadline, DEFAULT_STOP_MS } from '../deadline.js';
import { freePort } from '../free-port.js';
import { parseStageResult } from '../contract/stage-result.js';
import { jobLogger, logToRunDir, rootLogger, type Logger } from '../log.js';
import {
  FRESH_PROCESS_STAGES,
  jobId,
  jobPlace,
  QUEUE_KINDS,
  STAGE_QUEUE,
  type JobDescriptor,
  type QueueKind,
  type Stage,
} from '../plan/stages.js';
import type { ActiveJob, JobProgress } from '../queue/active-jobs.js';
import { closeConnection, connect } from '../queue/connection.js';
import {
  keys,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_PREFIX,
  DEFAULT_STALLED_INTERVAL_MS,
  QueueSet,
} from '../queue/queues.js';
import { checkEvictionPolicy } from '../queue/redis-policy.js';
import { describeOutputs, duration } from '../report/stage-words.js';
import { openNextRound, queueNextRound } from '../run/advance.js';
import { predecessors, successor } from '../plan/chain.js';
import { finishShard, queueLinks } from '../queue/chains.js';
import type { ControlMessage } from '../run/cancel.js';
import type { Recipe } from '../recipe/schema.js';
import { JobProgressFile } from '../store/job-progress.js';
import { RunStore, type DoneRecord } from '../store/run-store.js';
import { deviceEnv } from './devices.js';
import { classifyFailure, failRunOf, type AgentJobData } from './failures.js';
import { pythonLogLine, stderrLine } from './job-log-lines.js';
import { isUntrusted, trustJob, UntrustedJob, type TrustedJob } from './job-trust.js';
import { MemoryGate } from './memory-gate.js';
import { RunAnchor } from './run-anchor.js';
import { TrustedRuns } from './trusted-runs.js';
import { buildPayload } from './payload.js';
import { publishWorker, removeWorker, HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_S, type WorkerInfo } from './registry.js';
import { SlotPool, type Slot } from './slots.js';
import { groupFailureType, groupId, TrainGroups, type GroupCall } from './train-group.js';

export interface AgentOptions {
  redisUrl: string;
  /** @defaultValue DEFAULT_PREFIX ('ipa') */
  prefix?: string;
  /** @defaultValue every queue */
  queues?: readonly QueueKind[];
  /** Device indices given to the Python processes as CUDA_VISIBLE_DEVICES ("0", or "0,1,2,3" for a train worker). @defaultValue none (CPU or all GPUs) */
  gpu?: string;
  /**
   * Processes per training job (train and sft stages): one per device, started as one group
   * (ipa_worker.launch). @defaultValue the number of devices in `gpu`, else 1
   */
  trainProcesses?: number;
  /**
   * Nodes every training job (train, sft) spans: the agent that takes a job leads its group and
   * agents with the same setting on other nodes join it (agent/train-group.ts). @defaultValue 1
   */
  nodes?: number;
  /** This node's address as the other nodes of a training group reach it. @defaultValue the host name */
  nodeAddr?: string;
  /** Python slots, i.e. jobs at once. @defaultValue 1 */
  concurrency?: number;
  /** Python interpreter. @defaultValue IPA_PYTHON, else .venv/bin/python */
  python?: string;
  /** BullMQ lock; renewed every half of it while a job runs. @defaultValue DEFAULT_LOCK_DURATION_MS (60000) */
  lockDurationMs?: number;
  /** How often BullMQ looks for stalled jobs (lost workers). @defaultValue DEFAULT_STALLED_INTERVAL_MS (30000) */
  stalledIntervalMs?: number;
  /** Stalls (lost workers) a job survives before it fails. @defaultValue 5 */
  maxStalledCount?: number;
  /** Extra environment for the Python processes (tests inject faults through it). */
  pythonEnv?: Record<string, string>;
  /** Serve a Redis whose maxmemory-policy may evict keys (BullMQ then loses jobs). @defaultValue false */
  allowEviction?: boolean;
  /**
   * Folders whose runs this agent serves besides those registered on this host (runs.jsonl in
   * the state folder): a worker on another host than `ipa submit` names the shared runs folder.
   * @defaultValue `$IPA_RUN_ROOTS` (`:`-separated), else none
   */
  runRoots?: readonly string[];
  /** Plan memory for a card of this many GiB instead of the CUDA device the worker finds (docs/deployment.md, "Memory plan"). */
  cardGib?: number;
  /** Take a run's jobs even when its memory plan cannot fit this worker's card. @defaultValue false */
  skipMemoryCheck?: boolean;
  /** Called once the worker's Python reported its devices, before any job is taken; throwing stops the start (`ipa worker --recipe` checks a recipe's memory plan here). */
  beforeServing?: (ready: ReadyInfo | undefined) => void | Promise<void>;
  logger?: Logger;
  id?: string;
  /** Called once an advance job has queued the next round, before it returns (tests hold it there). */
  afterRoundQueued?: (runId: string, round: number) => Promise<void>;
}

/** Delay before a job of a paused or interrupted run is looked at again. */
const PAUSE_POLL_MS = 1000;

/**
 * A job whose registered run's plan does not hold it yet is looked at again this many times,
 * after 0.5, 1, 2, 4 and 8 s, before its refusal counts: time for a round being opened.
 */
const UNTRUSTED_HOLDS = 5;
const UNTRUSTED_HOLD_MS = 500;

/** Abort reasons: a cancelled run fails its job for good; a closing agent hands it back. */
const CANCEL = 'run cancelled';
const SHUTDOWN = 'agent shutting down';

/** How long an idle agent of a multi-node group waits for a call at a time (it holds its slot meanwhile). */
const JOIN_POLL_S = 1;
/** How long a leader looks for a joining node's failure report after its own try failed. */
const GROUP_FAILURE_WAIT_MS = 3000;
/** How long a leader whose node did not run rank 0 waits for the done record of the node that did. */
const GROUP_RECORD_WAIT_MS = 120_000;

/** One job running here (taken from the queue, or joined as a node of its training group). */
interface JobRun {
  abort: AbortController;
  progress: (p: JobProgress) => void;
  logLine: (line: string) => void;
  /** The Python process it runs in, once started. */
  proc?: PythonProcess;
  /** Ends its bookkeeping (progress flushed, the active entry gone). */
  end: () => void;
}

/** How long running jobs get to finish when `close` is given no grace. */
export const DEFAULT_GRACE_MS = 2000;

export class WorkerAgent {
  readonly id: string;
  private readonly log: Logger;
  private readonly workers: Worker[] = [];
  private readonly slots: SlotPool;
  private readonly active = new Map<
    string,
    { runId: string; abort: AbortController; info: WorkerInfo['current'][number]; progress?: JobProgress }
  >();
  private heartbeat?: NodeJS.Timeout;
  private subscriber?: Redis;
  private redis!: Redis;
  private queues!: QueueSet;
  private info!: WorkerInfo;
  private closing = false;
  /** Set by `close`: a job handed back waits for Redis at most until then. */
  private stopBy?: Deadline;
  /** What `close` could not do, in words (it says them when it ends). */
  private readonly notDone: string[] = [];
  /** The connections given to BullMQ workers (BullMQ leaves a given connection open). */
  private readonly workerConnections: Redis[] = [];
  /** Queue errors already reported since Redis last answered (one line each, not one per queue and retry). */
  private readonly queueErrors = new Set<string>();
  private readonly trainProcesses: number;
  private readonly nodes: number;
  private readonly nodeAddr: string;
  private groups!: TrainGroups;
  /** The idle-join loop of a multi-node train agent, while it runs. */
  private joining?: Promise<void>;
  private finished = 0;
  private readonly anchor: RunAnchor;
  private readonly trusted = new TrustedRuns();
  private readonly memory: MemoryGate;
  /** What the worker's Python reported at start (none before, or on a control-only worker). */
  private devices: Device[] = [];

  private constructor(
    private readonly opts: AgentOptions & { prefix: string; queues: readonly QueueKind[]; concurrency: number },
  ) {
    this.id = opts.id ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
    this.log = (opts.logger ?? rootLogger).child({ worker: this.id });
    this.trainProcesses = opts.trainProcesses ?? (opts.gpu ? opts.gpu.split(',').length : 1);
    this.nodes = opts.nodes ?? 1;
    this.nodeAddr = opts.nodeAddr ?? hostname();
    this.anchor = new RunAnchor({ roots: opts.runRoots });
    const env: Record<string, string> = {
      ...(opts.pythonEnv ?? {}),
      ...deviceEnv({ visible: opts.gpu, trainProcesses: this.trainProcesses }),
    };
    this.slots = new SlotPool({
      size: opts.concurrency,
      python: opts.python,
      env,
      payloadSchema: stagePayloadJsonSchema(),
      logger: this.log,
    });
    this.memory = new MemoryGate({
      queues: opts.queues,
      trainProcesses: this.trainProcesses,
      devices: () => this.devices,
      cardGib: opts.cardGib,
      skip: opts.skipMemoryCheck,
    });
  }

  static async start(opts: AgentOptions): Promise<WorkerAgent> {
    const agent = new WorkerAgent({
      ...opts,
      prefix: opts.prefix ?? DEFAULT_PREFIX,
      queues: opts.queues ?? QUEUE_KINDS,
      concurrency: opts.concurrency ?? 1,
    });
    try {
      await agent.init();
    } catch (err) {
      await agent.close(0).catch(() => undefined);
      throw err;
    }
    return agent;
  }

  private async init(): Promise<void> {
    const o = this.opts;
    this.redis = connect(o.redisUrl);
    // Reported through the queue workers' errors (once each); ioredis prints unhandled ones raw.
    this.redis.on('error', () => undefined);
    this.redis.on('ready', () => this.queueErrors.clear());
    try {
      await checkEvictionPolicy(this.redis, { allow: o.allowEviction });
    } catch (err) {
      await this.redis.quit().catch(() => undefined);
      throw err;
    }
    this.queues = new QueueSet(this.redis, o.prefix);
    this.groups = new TrainGroups(this.redis, o.prefix);
    this.info = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queues: [...o.queues],
      gpu: o.gpu ?? null,
      train_processes: this.trainProcesses,
      concurrency: o.concurrency,
      devices: [],
      backends: [],
      versions: {},
      started_at: new Date().toISOString(),
      heartbeat_at: new Date().toISOString(),
      current: [],
    };
    // Every worker with a Python queue starts one process at once: it reports the devices (the
    // memory plan's card) and versions; a training job stops it before its own process starts.
    let ready: ReadyInfo | undefined;
    if (o.queues.some((q) => q !== 'control')) {
      ready = await this.slots.warmUp();
      this.info.devices = ready.devices;
      this.devices = ready.devices;
      this.info.backends = ready.backends;
      this.info.versions = ready.versions;
    }
    await o.beforeServing?.(ready);
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    this.heartbeat.unref();
    this.subscriber = connect(o.redisUrl);
    this.subscriber.on('error', () => undefined);
    await this.subscriber.subscribe(keys.control(o.prefix));
    this.subscriber.on('message', (_ch, msg) => this.onControl(msg));
    for (const q of o.queues) {
      const connection = this.redis.duplicate();
      this.workerConnections.push(connection);
      const w = new Worker(q, (job: Job, token?: string) => this.process(job, token), {
        connection,
        prefix: o.prefix,
        // The control queue does no heavy work; Python queues are bounded by the slots.
        concurrency: q === 'control' ? 4 : o.concurrency,
        lockDuration: o.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
        stalledInterval: o.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
        maxStalledCount: o.maxStalledCount ?? 5,
      });
      w.on('failed', (job, err) => void this.onFailed(job, err));
      w.on('error', (err) => this.onQueueError(q, err));
      this.workers.push(w);
    }
    if (this.nodes > 1 && o.queues.includes('train')) this.joining = this.joinLoop();
    this.log.info(
      {
        queues: o.queues,
        gpu: o.gpu ?? null,
        train_processes: this.trainProcesses,
        nodes: this.nodes,
        concurrency: o.concurrency,
      },
      `worker ${this.id} started: queues ${o.queues.join(', ')}${o.gpu !== undefined ? `, GPU ${o.gpu}` : ''}${this.trainProcesses > 1 ? `, ${this.trainProcesses} training processes` : ''}${this.nodes > 1 ? `, training groups of ${this.nodes} nodes (this one reached at ${this.nodeAddr})` : ''}, ${o.concurrency} slot${o.concurrency === 1 ? '' : 's'}`,
    );
  }

  /** A queue worker's error, said once until Redis answers again (a lost Redis fails every queue every few seconds). */
  private onQueueError(queue: string, err: Error): void {
    if (this.queueErrors.has(err.message)) return;
    this.queueErrors.add(err.message);
    this.log.warn(
      { err: err.message, queue },
      `queue worker error: ${err.message}${this.redis.status === 'ready' ? '' : ' (Redis is unreachable: no job is taken until it answers again)'}`,
    );
  }

  private async beat(): Promise<void> {
    this.info.heartbeat_at = new Date().toISOString();
    this.info.current = [...this.active.values()].map((a) => a.info);
    await publishWorker(this.redis, this.opts.prefix, this.info);
  }

  private onControl(raw: string): void {
    let msg: Partial<ControlMessage>;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.action !== 'cancel' || !msg.runId) return;
    for (const [id, a] of this.active) {
      if (a.runId === msg.runId) {
        this.log.info({ job: id, run: msg.runId }, `run ${msg.runId} was cancelled: stopping its job ${id}`);
        a.abort.abort(CANCEL);
      }
    }
  }

  /** Jobs this agent finished (done records written) since it started. */
  get jobsDone(): number {
    return this.finished;
  }

  /** The jobs this agent runs now, with the progress each last reported (for `ipa worker`'s live line). */
  activeJobs(): ActiveJob[] {
    return [...this.active.entries()].map(([id, a]) => ({
      id,
      round: a.info.round,
      stage: a.info.stage as Stage,
      shard: a.info.shard,
      startedAt: Date.parse(a.info.started_at),
      progress: a.progress,
    }));
  }

  /** Pids of this agent's live Python processes: the slots' inference ones and any training one. */
  pythonPids(): number[] {
    return this.slots.pids();
  }

  /** Checks the job (agent/job-trust.ts); a refusal that a round being opened may lift is held back and looked at again first. */
  private async trust(job: Job, token?: string) {
    try {
      return await trustJob(job, {
        redis: this.redis,
        prefix: this.opts.prefix,
        queue: job.queueName as QueueKind,
        anchor: this.anchor,
        runs: this.trusted,
        signer: this.queues.signer,
      });
    } catch (err) {
      if (err instanceof UntrustedJob && err.pending) return this.holdBack(job, token, err);
      throw err;
    }
  }

  /** A refusal time may lift: the job goes back to wait a while, `UNTRUSTED_HOLDS` times, before the refusal counts. */
  private async holdBack(job: Job, token: string | undefined, err: UntrustedJob): Promise<never> {
    // attemptsStarted counts every time the job was taken, holds included; attemptsMade only real tries.
    const holds = (job.attemptsStarted ?? 1) - 1 - job.attemptsMade;
    if (holds >= UNTRUSTED_HOLDS || !token) throw err;
    const wait = UNTRUSTED_HOLD_MS * 2 ** holds;
    this.log.warn(
      { job: job.id, queue: job.queueName, err: err.message, hold: holds + 1 },
      `held back job ${job.id}: ${err.message}; looking again in ${duration(wait)} (${holds + 1} of ${UNTRUSTED_HOLDS} before it is refused)`,
    );
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  }

  private async process(job: Job, token?: string): Promise<unknown> {
    // Before anything touches the disk: the job must prove it belongs (agent/job-trust.ts).
    const t = await this.trust(job, token);
    const d = t.data;
    const log = jobLogger(this.log, {
      run: d.runId,
      round: d.round,
      stage: d.stage,
      shard: d.shard,
      job: t.id,
      place: jobPlace(d),
    });
    // This agent's lines about the run go to its logs/orchestrator.jsonl too (only once the job is trusted).
    logToRunDir(d.runId, t.store.dir);
    const cached = await this.admit(job, token, t, log);
    if (cached) return summary(cached);
    if (d.stage === 'advance') return summary(await this.advance(job, t, log));
    const rec = await this.onPython(job, token, t, log);
    return rec ? summary(rec) : { dropped: 'its inputs were set aside while it ran' };
  }

  /**
   * Whether the job runs now: its run's state (a cancelled or failed run refuses it, a paused one
   * delays it), its done record (a job done before returns that record, after queueing what follows
   * it), its predecessors' records and the run's memory plan on this worker.
   */
  private async admit(
    job: Job,
    token: string | undefined,
    t: TrustedJob,
    log: Logger,
  ): Promise<DoneRecord | undefined> {
    const { id, data: d, store, recipe, info, shards } = t;
    const state = info.state;
    if (state === 'cancelled' || state === 'failed') throw new UnrecoverableError(`run ${d.runId} is ${state}`);
    // An interrupted run waits like a paused one: its jobs stay queued for `ipa resume`.
    if (state === 'paused' || state === 'interrupted') {
      await job.moveToDelayed(Date.now() + PAUSE_POLL_MS, token);
      throw new DelayedError();
    }
    // Read again before writing: the jobs taken at once all saw 'queued', only the first writes.
    if (state === 'queued' && store.info().state === 'queued') store.setState('running');

    const cached = store.verifiedDoneRecord(id);
    if (cached) {
      log.info('already done (its done record is present): not computed again');
      // A job killed between its record and queueing what follows queues it now.
      await this.queueNext(store, recipe, d, shards, log);
      return cached;
    }
    // Queued only after its predecessors' records were written; a job without them (added by
    // hand, or left from before `ipa resume` set outputs aside) waits, then is refused.
    const missing = predecessors(recipe, d.round, d.stage, d.shard, shards).filter(
      (l) => !store.hasRecord(jobId({ runId: d.runId, ...l })),
    );
    if (missing.length) {
      const first = `${jobPlace(missing[0])}${missing.length > 1 ? ', …' : ''}`;
      await this.holdBack(
        job,
        token,
        new UntrustedJob(`${id}: ${missing.length} job(s) it follows are not done (${first})`, true),
      );
    }
    // The run's memory plan on this worker's card: printed once, and a plan that cannot fit refuses its jobs.
    const gate = this.memory.check(d.runId, recipe, job.queueName);
    for (const line of gate.lines ?? []) log.info({ event: 'memory_plan', fits: !gate.refusal }, line);
    if (gate.refusal) throw new UnrecoverableError(`${gate.refusal} (or start the worker with --skip-memory-check)`);
    return undefined;
  }

  /** The Node-only `advance` job: opens the next round (recorded before it is queued). */
  private async advance(job: Job, t: TrustedJob, log: Logger): Promise<DoneRecord> {
    const { id, data: d, store, recipe, shards } = t;
    const rec = await (async () => {
      // A try like any other: counted in the run's attempts (ipa status, the dashboard).
      store.recordAttempt(id, { attempt: job.attemptsMade + 1, worker: this.id, started_at: new Date().toISOString() });
      const r = openNextRound(store, recipe, d.round);
      const rec = this.record(id, d, r.outputs, r.metrics, [], new Date(), store.attempts(id));
      // Recorded before queued: the next round is in the plan before any of its jobs can be taken.
      store.writeDone(rec);
      await this.queueNext(store, recipe, d, shards, log);
      return rec;
    })().catch(async (err: unknown) => {
      throw await classifyFailure(err, { job, data: d, store, log, onProcessLost: () => undefined });
    });
    this.finished++;
    log.info({ event: 'stage_done', ...rec.metrics }, describeOutputs('advance', {}, rec.metrics));
    return rec;
  }

  /** A stage in a Python slot (or a training group it leads): its record written, what follows queued. */
  private async onPython(
    job: Job,
    token: string | undefined,
    t: TrustedJob,
    log: Logger,
  ): Promise<DoneRecord | undefined> {
    const { id, data: d, store, recipe, shards } = t;
    const attempt = job.attemptsMade + 1;
    const slot = await this.slots.acquire();
    // A training job on several nodes: join any group still waiting for nodes, then lead this one.
    let call: GroupCall | undefined;
    try {
      if (this.spansNodes(d.stage)) call = await this.leadGroup(slot, id, d, attempt, recipe);
    } catch (err) {
      await this.slots.release(slot, undefined);
      throw err;
    }
    // Timed from here: a job's duration is its own work, not its wait for a free Python slot.
    const startedAt = new Date();
    const abort = new AbortController();
    const run = this.startJobRun(job, id, d, store, attempt, startedAt, abort);
    try {
      // batch_scale on the attempt line keeps every out-of-memory halving in the run directory.
      const entry = { attempt, worker: this.id, started_at: startedAt.toISOString(), batch_scale: d.batchScale ?? 1 };
      store.recordAttempt(id, entry);
      const payload = buildPayload(store, recipe, d, attempt, d.batchScale ?? 1);
      if (call)
        payload.group = {
          nnodes: call.nnodes,
          endpoint: call.endpoint,
          id: call.group_id,
          host: true,
          node_addr: this.nodeAddr,
        };
      const scaled = payload.options.batch_scale < 1 ? `, batch × ${payload.options.batch_scale}` : '';
      log.info(
        { event: 'stage_started', attempt, batch_scale: payload.options.batch_scale },
        `started (attempt ${attempt}${scaled}) on worker ${this.id}`,
      );
      if (call)
        log.info(
          { group: call.group_id, endpoint: call.endpoint },
          `leading a training group of ${call.nnodes} nodes at ${call.endpoint}: waiting for ${call.nnodes - 1} more to join`,
        );
      const raw = await this.runStage(slot, payload, run, log);
      // A repair (`ipa resume`) may have set this job's inputs aside while it ran (after a FLUSHALL
      // the queue has forgotten the job too): its result is stale, so it is not recorded and
      // nothing after it is queued; the repair queued the job again.
      const gone = predecessors(recipe, d.round, d.stage, d.shard, shards).filter(
        (l) => !store.hasRecord(jobId({ runId: d.runId, ...l })),
      );
      if (gone.length) {
        log.warn(
          { event: 'stale_result', missing: gone.length },
          `its inputs were set aside while it ran (${jobPlace(gone[0])} is no longer done): its result is dropped, not recorded`,
        );
        return undefined;
      }
      // Global rank 0 ran on a node that joined: that node writes the done record.
      const rec =
        raw === null && call
          ? await this.recordOfGroup(store, id, log)
          : this.writeResult(raw, id, d, store, startedAt, log);
      await this.queueNext(store, recipe, d, shards, log);
      return rec;
    } catch (err) {
      const stopped =
        abort.signal.reason === SHUTDOWN &&
        ((err instanceof PythonError && err.type === 'Cancelled') || err instanceof PythonProcessExited);
      if (stopped && token) {
        if (err instanceof PythonProcessExited) this.slots.lost(slot, run.proc);
        await this.handBack(job, token, id, d, log);
      }
      const cause = call && err instanceof PythonError ? await this.groupCause(err, call) : err;
      throw await classifyFailure(cause, {
        job,
        data: d,
        store,
        log,
        onProcessLost: () => this.slots.lost(slot, run.proc),
      });
    } finally {
      if (call) await this.groups.withdraw(call).catch(() => undefined);
      run.end();
      await this.slots.release(slot, run.proc);
    }
  }

  /**
   * A job stopped by `close()`, not by itself: back to the queue untouched (no attempt used, the
   * run not failed) for another agent, which resumes from what is on disk; without Redis it is
   * said in the stop's report and goes back once its lock expires.
   */
  private async handBack(job: Job, token: string, id: string, d: JobDescriptor, log: Logger): Promise<never> {
    const back =
      this.redis.status === 'ready'
        ? await (this.stopBy ?? Deadline.in(DEFAULT_STOP_MS)).settle(job.moveToWait(token))
        : { ok: false as const, reason: 'Redis is unreachable' };
    if (back.ok) log.info('the worker is stopping: job handed back to the queue (recomputed later)');
    else {
      const lockS = Math.round((this.opts.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS) / 1000);
      this.notDone.push(
        `job ${id} was not handed back (${back.reason}): it goes back to the queue ${lockS} s after Redis answers again (its lock expires), or \`ipa resume ${d.runId}\` queues it again; nothing it finished is lost`,
      );
    }
    throw new WaitingError();
  }

  /** Whether jobs of `stage` run across nodes on this agent (`--nodes N`, train and sft). */
  private spansNodes(stage: Stage): boolean {
    return this.nodes > 1 && FRESH_PROCESS_STAGES.has(stage);
  }

  /**
   * Posts the calls for a group led by this agent, after joining, one by one, the groups that
   * were still waiting for nodes (the atomic step of TrainGroups.leadOrFollow). Returns the call.
   */
  private async leadGroup(
    slot: Slot,
    id: string,
    d: AgentJobData,
    attempt: number,
    recipe: Recipe,
  ): Promise<GroupCall> {
    for (;;) {
      const call: GroupCall = {
        job_id: id,
        queue: STAGE_QUEUE[d.stage],
        attempt,
        batch_scale: d.batchScale ?? 1,
        nnodes: this.nodes,
        endpoint: `${this.nodeAddr}:${await freePort('0.0.0.0')}`,
        group_id: groupId(id, attempt),
        leader: this.id,
        // Nodes may join while the leader's rendezvous waits (the recipe's collective timeout).
        expires_at: Date.now() + recipe.training.distributed.collective_timeout_s * 1000,
      };
      const open = await this.groups.leadOrFollow(call);
      if (!open) return call;
      await this.follow(open, slot);
    }
  }

  /** Why a group try failed: a joining node's out-of-memory or bad input says more than this node's lost peer. */
  private async groupCause(err: PythonError, call: GroupCall): Promise<PythonError> {
    const other = groupFailureType(err.type, await this.groups.failures(call.group_id, GROUP_FAILURE_WAIT_MS));
    return other
      ? new PythonError(
          other.type,
          `${other.message} (on the node of worker ${other.worker})`,
          err.traceback,
          err.method,
        )
      : err;
  }

  /** The done record a joining node wrote for this agent's job (its node ran global rank 0). */
  private async recordOfGroup(store: RunStore, id: string, log: Logger): Promise<DoneRecord> {
    const end = Date.now() + GROUP_RECORD_WAIT_MS;
    for (;;) {
      const rec = store.verifiedDoneRecord(id);
      if (rec) {
        log.info(
          { event: 'stage_done', written_by: rec.worker },
          `done on the group's rank-0 node (worker ${rec.worker} wrote the record)`,
        );
        return rec;
      }
      if (Date.now() > end)
        throw new Error(
          `the training group finished, but the node that ran rank 0 wrote no done record for ${id} within ${GROUP_RECORD_WAIT_MS / 1000} s`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Idle train workers of a multi-node agent wait for groups to join, one at a time, on their slot. */
  private async joinLoop(): Promise<void> {
    const conn = this.redis.duplicate();
    conn.on('error', () => undefined);
    try {
      while (!this.closing) {
        const slot = await this.slots.acquire();
        try {
          if (this.closing) break;
          const call = await this.groups.take(conn, this.nodes, JOIN_POLL_S);
          // Its own group (an agent with several slots): the node it wants is another agent's.
          if (call?.leader === this.id) await this.groups.putBack(call);
          else if (call) await this.follow(call, slot);
        } catch (err) {
          if (!this.closing)
            this.log.warn({ err: (err as Error).message }, 'looking for training groups to join failed');
        } finally {
          await this.slots.release(slot, undefined);
        }
      }
    } finally {
      conn.disconnect();
    }
  }

  /**
   * Joins `call`'s group on `slot`: the job must pass the same trust checks as one taken from the
   * queue; its payload is built here, for the leader's try. The job stays the leader's; this node
   * writes the done record only when it ran global rank 0, and reports its failure to the leader.
   */
  private async follow(call: GroupCall, slot: Slot): Promise<void> {
    const job = await this.queues.queue(call.queue).getJob(call.job_id);
    if (!job || (await job.getState()) !== 'active') return; // its try is over
    let trusted;
    try {
      trusted = await trustJob(job, {
        redis: this.redis,
        prefix: this.opts.prefix,
        queue: call.queue,
        anchor: this.anchor,
        runs: this.trusted,
        signer: this.queues.signer,
      });
    } catch (err) {
      this.log.warn(
        { job: call.job_id, err: (err as Error).message },
        `did not join the training group of ${call.job_id}: ${(err as Error).message}`,
      );
      return;
    }
    const { id, data: d, store, recipe, info } = trusted;
    if (info.state !== 'running' && info.state !== 'queued') return;
    const log = jobLogger(this.log, {
      run: d.runId,
      round: d.round,
      stage: d.stage,
      shard: d.shard,
      job: id,
      place: jobPlace(d),
    });
    logToRunDir(d.runId, store.dir);
    const startedAt = new Date();
    const abort = new AbortController();
    const run = this.startJobRun(job, id, d, store, call.attempt, startedAt, abort);
    try {
      const payload = buildPayload(store, recipe, d, call.attempt, call.batch_scale);
      payload.group = {
        nnodes: call.nnodes,
        endpoint: call.endpoint,
        id: call.group_id,
        host: false,
        node_addr: this.nodeAddr,
      };
      log.info(
        { group: call.group_id, leader: call.leader },
        `joined the training group of ${call.nnodes} nodes led by worker ${call.leader} at ${call.endpoint} (attempt ${call.attempt})`,
      );
      const raw = await this.runStage(slot, payload, run, log);
      if (raw !== null) this.writeResult(raw, id, d, store, startedAt, log);
      else log.info('this node trained its part of the group; the node that ran rank 0 writes the done record');
    } catch (err) {
      const type = err instanceof PythonError ? err.type : 'Internal';
      if (err instanceof PythonProcessExited) this.slots.lost(slot, run.proc);
      const message = err instanceof Error ? err.message : String(err);
      store.appendLog(
        id,
        `${type} on the joining node of worker ${this.id}: ${message}${err instanceof PythonError ? `\n${err.traceback}` : ''}`,
      );
      log.warn(
        { type, err: message },
        `this node's part of the training group failed (${type}); the leader retries the job`,
      );
      await this.groups.reportFailure(call.group_id, { type, message, worker: this.id }).catch(() => undefined);
    } finally {
      run.end();
      if (run.proc) await this.slots.stopTraining(run.proc);
    }
  }

  /** A job's bookkeeping while it runs here: the active entry (cancel, registry), progress to BullMQ and the run folder, log lines. */
  private startJobRun(
    job: Job,
    id: string,
    d: AgentJobData,
    store: RunStore,
    attempt: number,
    startedAt: Date,
    abort: AbortController,
  ): JobRun {
    this.active.set(id, {
      runId: d.runId,
      abort,
      info: {
        job_id: id,
        stage: d.stage,
        run: d.runId,
        round: d.round,
        shard: d.shard,
        started_at: startedAt.toISOString(),
      },
    });
    const throttle = new ProgressThrottle<Record<string, unknown>>(
      2,
      (p) => void job.updateProgress(p).catch(() => undefined),
    );
    // The same progress in the run folder, for whoever reads it without Redis (store/job-progress.ts).
    const progressFile = new JobProgressFile(store.dir, {
      job_id: id,
      worker: this.id,
      attempt,
      started_at: startedAt.toISOString(),
    });
    const progress = (p: JobProgress) => {
      const a = this.active.get(id);
      if (a) a.progress = p;
      throttle.push({ ...p, stage: d.stage, round: d.round, shard: d.shard });
      progressFile.push(p);
    };
    return {
      abort,
      progress,
      logLine: (line: string) => store.appendLog(id, line),
      proc: undefined,
      end: () => {
        throttle.flush();
        progressFile.close();
        this.active.delete(id);
      },
    };
  }

  /** Runs `payload` in `slot`'s Python (a fresh process for training); returns the stage's raw result. */
  private async runStage(slot: Slot, payload: StagePayload, run: JobRun, log: Logger): Promise<unknown> {
    const fresh = FRESH_PROCESS_STAGES.has(payload.stage);
    // A Python start (imports, a fresh training process) takes seconds to minutes: say so.
    if (fresh || !this.slots.warm(slot)) run.progress({ done: 0, total: 0, metrics: { phase: 'starting Python' } });
    const stderrToLog = (line: string) => {
      const shown = stderrLine(line);
      if (shown !== undefined) run.logLine(shown);
    };
    run.proc = await this.slots.processFor(slot, fresh, log, stderrToLog, run.abort.signal);
    return run.proc.request('stage', payload, {
      signal: run.abort.signal,
      onProgress: run.progress,
      onLog: (l) => {
        run.logLine(pythonLogLine(l));
        log.debug({ py: l.msg }, 'python log');
      },
    });
  }

  /** Checks a stage's result against the contract and writes its done record. */
  private writeResult(
    raw: unknown,
    id: string,
    d: AgentJobData,
    store: RunStore,
    startedAt: Date,
    log: Logger,
  ): DoneRecord {
    const result = parseStageResult(raw, id);
    const rec = this.record(id, d, result.outputs, result.metrics, result.failed_items, startedAt, store.attempts(id));
    store.writeDone(rec);
    this.finished++;
    const failedItems = rec.failed_items.length ? `; ${rec.failed_items.length} items failed (see ipa logs)` : '';
    log.info(
      {
        event: 'stage_done',
        duration_ms: rec.duration_ms,
        failed_items: rec.failed_items.length,
        ...flatMetrics(rec.metrics),
      },
      `${describeOutputs(d.stage, rowCounts(rec), rec.metrics)} in ${duration(rec.duration_ms)}${failedItems}`,
    );
    return rec;
  }

  /**
   * Queues what follows a finished job (plan/chain.ts): the next stage of its shard, the round's
   * first stage once every shard is finished (the fan-in: a Redis count, checked against the run
   * directory), the next round stage, or — for an advance — the next round.
   */
  private async queueNext(
    store: RunStore,
    recipe: Recipe,
    d: JobDescriptor,
    shards: number,
    log: Logger,
  ): Promise<void> {
    if (d.stage === 'advance') {
      const queued = await queueNextRound(store, recipe, d.round, this.queues);
      if (queued) log.debug({ jobs_queued: queued }, `queued ${queued} jobs of round ${d.round + 1}`);
      await this.opts.afterRoundQueued?.(store.id, d.round);
      return;
    }
    const next = successor(recipe, d.round, d.stage, d.shard);
    if (next.kind === 'none') return;
    if (next.kind === 'fan-in') {
      if ((await finishShard(this.queues, d.runId, d.round, d.shard)) < shards) return;
      const open = predecessors(recipe, d.round, next.link.stage, 0, shards).some(
        (l) => !store.hasRecord(jobId({ runId: d.runId, ...l })),
      );
      if (open) return;
    }
    await queueLinks(this.queues, [next.link], { id: store.id, dir: store.dir }, recipe);
  }

  /** A job that will not be retried fails its run (a failed child also fails the round's flow). */
  private async onFailed(job: Job | undefined, err: Error): Promise<void> {
    if (!job) return;
    if (isUntrusted(err)) {
      // Its data named the run: the one thing it must not get to do is write there.
      this.log.warn(
        { job: job.id, queue: job.queueName, err: err.message },
        'refused an untrusted job: nothing written',
      );
      return;
    }
    const d = job.data as JobDescriptor;
    try {
      if (failRunOf(job, err, new RunStore(d.runDir))) {
        this.log.error(
          { run: d.runId, round: d.round, stage: d.stage, shard: d.shard, job: job.id, err: err.message },
          `${jobPlace(d)}: failed for good, so run ${d.runId} failed (ipa logs ${d.runId} --round ${d.round} --stage ${d.stage})`,
        );
      }
    } catch (e) {
      this.log.warn({ err: String(e) }, `could not mark run ${d.runId} failed`);
    }
  }

  private record(
    id: string,
    d: JobDescriptor,
    outputs: DoneRecord['outputs'],
    metrics: Record<string, unknown>,
    failed: DoneRecord['failed_items'],
    startedAt: Date,
    attempts: number,
  ): DoneRecord {
    const finished = new Date();
    return {
      job_id: id,
      stage: d.stage,
      round: d.round,
      shard: d.shard,
      outputs,
      metrics,
      failed_items: failed,
      attempts,
      started_at: startedAt.toISOString(),
      finished_at: finished.toISOString(),
      duration_ms: finished.getTime() - startedAt.getTime(),
      worker: this.id,
    };
  }

  /**
   * Stops taking jobs, lets running ones finish for up to `graceMs`, then within `stopMs` more,
   * whatever the state of Redis: cancels the rest and hands them back to the queue (another agent
   * runs them; no attempt is used, training resumes from its last checkpoint), stops the Python
   * processes (SIGTERM, then SIGKILL, for those that do not stop in time), leaves the registry
   * and closes its connections. What needs Redis is skipped when Redis is gone, or given up at the
   * deadline; the agent then says what it could not do and what happens to it.
   */
  async close(graceMs = DEFAULT_GRACE_MS, stopMs = DEFAULT_STOP_MS): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    const t0 = Date.now();
    const closing = Promise.all([...this.workers.map((w) => w.close()), this.joining]);
    closing.catch(() => undefined);
    // BullMQ's close waits for the running jobs, and for Redis: without Redis, ours ending is enough.
    const grace = Deadline.in(graceMs);
    await grace.settle(Promise.race([closing, this.drainedBy(grace)]));
    // Some of the stop is kept for what comes after the jobs: the registry and the connections.
    const stop = Deadline.in(stopMs);
    const jobsBy = stop.less(Math.min(1000, stopMs / 5));
    this.stopBy = jobsBy;
    for (const a of this.active.values()) a.abort.abort(SHUTDOWN);
    // The cancel lands at Python's next batch; what is still running halfway is stopped.
    await this.drainedBy(Deadline.in(stopMs / 2));
    const killed = await this.slots.stop(jobsBy);
    if (killed.length)
      this.notDone.push(
        `Python process${killed.length > 1 ? 'es' : ''} ${killed.join(', ')} did not stop when asked: killed`,
      );
    if (!(await this.drainedBy(jobsBy)))
      this.notDone.push(
        `job${this.active.size > 1 ? 's' : ''} ${[...this.active.keys()].join(', ')} did not end in time: ${this.active.size > 1 ? 'they are' : 'it is'} computed again later`,
      );
    // BullMQ's own close ends with Redis; without it there is nothing to wait for.
    if (this.redis.status === 'ready') await stop.settle(closing);
    const registered =
      this.redis.status === 'ready' && (await stop.settle(removeWorker(this.redis, this.opts.prefix, this.id))).ok;
    if (!registered)
      this.notDone.push(
        `this worker was not removed from the list of workers (Redis did not answer): it drops off by itself within ${HEARTBEAT_TTL_S} s`,
      );
    for (const w of this.workers) void w.disconnect().catch(() => undefined);
    await this.queues.close(stop);
    await Promise.all(
      [this.subscriber, this.redis, ...this.workerConnections].map((c) => (c ? closeConnection(c, stop) : undefined)),
    );
    const took = `${duration(Date.now() - t0)}`;
    for (const n of this.notDone) this.log.warn(`while stopping: ${n}`);
    this.log.info(
      `worker ${this.id} stopped in ${took}${this.notDone.length ? ` (${this.notDone.length} thing${this.notDone.length > 1 ? 's' : ''} not done, above)` : ''}`,
    );
  }

  /** Whether every job of this agent ended by the deadline (polled: jobs end on their own schedule). */
  private async drainedBy(deadline: Deadline): Promise<boolean> {
    while (this.active.size && deadline.left() > 0)
      await new Promise((r) => setTimeout(r, Math.min(25, deadline.left())));
    return this.active.size === 0;
  }
}

function summary(rec: DoneRecord): Record<string, unknown> {
  return { outputs: rowCounts(rec), metrics: rec.metrics, failed_items: rec.failed_items.length };
}

/** Rows written per output name. */
export function rowCounts(rec: Pick<DoneRecord, 'outputs'>): Record<string, number> {
  return Object.fromEntries(Object.entries(rec.outputs).map(([k, o]) => [k, o.rows]));
}

function flatMetrics(m: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'number' || typeof v === 'string'));
}
