/**
 * The agent's Python slots, one job at a time each (one per device). A slot keeps a long-lived
 * inference process, so models stay loaded between jobs; a training job gets a fresh process
 * instead, and the slot's inference process is stopped first so the two never hold the device
 * at once. Jobs wait for a free slot in arrival order.
 */
import { PythonError, PythonProcess, type ReadyInfo } from '../bridge/python-process.js';
import type { Deadline } from '../deadline.js';
import type { Logger } from '../log.js';

/** One place a job runs; `proc` is its inference process when one is up. */
export interface Slot {
  readonly index: number;
  busy: boolean;
  proc?: PythonProcess;
}

export interface SlotPoolOptions {
  /** Slots, i.e. jobs at once. */
  size: number;
  /** Python interpreter. @defaultValue the bridge's default (IPA_PYTHON, else .venv/bin/python) */
  python?: string;
  /** Environment of every process (device selection, test faults). */
  env: Record<string, string>;
  /** The JSON Schema every process validates payloads against (sent in `configure`). */
  payloadSchema: object;
  logger: Logger;
}

/** How long a stopping process may take before the bridge escalates to signals. */
const CLOSE_GRACE_MS = 5000;

export class SlotPool {
  private readonly slots: Slot[];
  private readonly waiters: Array<(s: Slot) => void> = [];
  /** Fresh processes of running training jobs (the slots hold the inference ones). */
  private readonly training = new Set<PythonProcess>();
  /** Where each slot's inference process sends stderr: the log of the job it runs. */
  private readonly stderrSinks = new Map<number, (line: string) => void>();

  constructor(private readonly opts: SlotPoolOptions) {
    this.slots = Array.from({ length: opts.size }, (_, index) => ({ index, busy: false }));
  }

  /**
   * Starts the first slot's inference process ahead of any job: it reports the devices and
   * versions the registry shows, and the first job does not pay for the start.
   */
  async warmUp(): Promise<ReadyInfo> {
    return (await this.inference(this.slots[0])).ready;
  }

  /** Resolves with a free slot, waiting in line when all are busy. */
  acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((res) => this.waiters.push(res));
  }

  /**
   * The process a job on `slot` runs in: the slot's inference process, or for a training job
   * (`fresh`) a new process once the inference one has stopped. Its stderr goes to `onStderr`
   * until `release`.
   */
  async processFor(
    slot: Slot,
    fresh: boolean,
    log: Logger,
    onStderr: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<PythonProcess> {
    if (!fresh) {
      this.stderrSinks.set(slot.index, onStderr);
      return this.inference(slot, signal);
    }
    if (slot.proc) {
      await slot.proc.close({ graceMs: CLOSE_GRACE_MS }).catch(() => undefined);
      slot.proc = undefined;
    }
    const proc = await this.start(log, onStderr, signal);
    this.training.add(proc);
    return proc;
  }

  /** Whether the slot's inference process is up (a job on it starts at once). */
  warm(slot: Slot): boolean {
    return !!slot.proc && !slot.proc.exitInfo;
  }

  /** `proc` died: if it was the slot's inference process, the next job starts a new one. */
  lost(slot: Slot, proc: PythonProcess | undefined): void {
    if (proc && slot.proc === proc) slot.proc = undefined;
  }

  /** Ends a job's use of `slot`: stops its training process, if any, and hands the slot on. */
  async release(slot: Slot, proc: PythonProcess | undefined): Promise<void> {
    this.stderrSinks.delete(slot.index);
    if (proc) await this.stopTraining(proc);
    const next = this.waiters.shift();
    if (next) next(slot);
    else slot.busy = false;
  }

  /** Stops `proc` if it is a training process (a node of a group keeps its slot for the next job). */
  async stopTraining(proc: PythonProcess): Promise<void> {
    if (this.training.delete(proc)) await proc.close({ graceMs: CLOSE_GRACE_MS }).catch(() => undefined);
  }

  /** Pids of the live processes: the slots' inference ones and any training one. */
  pids(): number[] {
    return this.live().map((p) => p.pid);
  }

  private live(): PythonProcess[] {
    const procs = [...this.slots.map((s) => s.proc), ...this.training];
    return procs.filter((p): p is PythonProcess => !!p && !p.exitInfo);
  }

  /**
   * Stops every process, inference and training, by `deadline`: `shutdown` (Python cancels its
   * work and exits), SIGTERM after a third of the time left, SIGKILL after another; one still
   * there at the deadline is killed. Returns the pids that ignored `shutdown` and SIGTERM.
   */
  async stop(deadline: Deadline): Promise<number[]> {
    const procs = this.live();
    const graceMs = Math.min(CLOSE_GRACE_MS, Math.floor(deadline.left() / 3));
    const ended = await Promise.all(procs.map((p) => deadline.settle(p.close({ graceMs }))));
    const killed = procs.filter((p, i) => !ended[i].ok || ended[i].value.signal === 'SIGKILL');
    for (const p of killed) p.kill('SIGKILL');
    return killed.map((p) => p.pid);
  }

  /** The slot's long-lived inference process, (re)started when missing or dead. */
  private async inference(slot: Slot, signal?: AbortSignal): Promise<PythonProcess> {
    if (!slot.proc || slot.proc.exitInfo) {
      slot.proc = await this.start(
        this.opts.logger.child({ slot: slot.index }),
        (line) => this.stderrSinks.get(slot.index)?.(line),
        signal,
      );
    }
    return slot.proc;
  }

  /**
   * A configured process. A stop (`signal`) while it starts kills it, so `stop()`, which only
   * sees running processes, leaves none behind; the job then ends as `Cancelled` and is handed back.
   */
  private async start(log: Logger, onStderr: (line: string) => void, signal?: AbortSignal): Promise<PythonProcess> {
    const p = await PythonProcess.start({
      python: this.opts.python,
      env: this.opts.env,
      logger: log,
      onStderr,
      signal,
    });
    await p.configure(this.opts.payloadSchema);
    if (signal?.aborted) {
      p.kill('SIGKILL');
      throw new PythonError('Cancelled', 'stopped while the Python process was starting', '', 'start');
    }
    return p;
  }
}
