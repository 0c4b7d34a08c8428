/**
 * One long-lived Python worker (`python -m ipa_worker serve`) driven over the bridge protocol
 * (docs/ARCHITECTURE.md): requests multiplexed by id, progress and log callbacks, cancellation
 * through an AbortSignal with SIGTERM/SIGKILL escalation, and every pending request rejected
 * with the exit status and stderr tail when the process dies.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { pino, type Logger } from 'pino';
import { LineSplitter } from './line-splitter.js';
import { ContractError } from '../contract/contract-error.js';
import {
  MAX_LINE_BYTES,
  PROTOCOL_VERSION,
  WorkerMessageSchema,
  type ErrorType,
  type LogEntry,
  type Progress,
  type ReadyMessage,
  type RequestId,
  type WorkerMessage,
} from '../contract/protocol.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STDERR_TAIL_LINES = 50;
const STDERR_LINE_MAX = 2000;

/** What the worker reported in its `ready` message. */
export type ReadyInfo = Omit<ReadyMessage, 'v' | 'type'>;

/** How the process ended: an exit code, or the signal that killed it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PythonProcessOptions {
  /** Interpreter. @defaultValue env IPA_PYTHON, else `<repo>/.venv/bin/python` when it exists, else `python3` */
  python?: string;
  /** Working directory of the process. @defaultValue this process's cwd */
  cwd?: string;
  /** Extra environment, merged over this process's. */
  env?: Record<string, string | undefined>;
  /** Interpreter arguments. @defaultValue `['-m', 'ipa_worker', 'serve']` */
  args?: string[];
  /** Prepended to PYTHONPATH. @defaultValue `<repo>/workers` */
  pythonPath?: string;
  /** Longest wait for `ready`. @defaultValue 60000 */
  readyTimeoutMs?: number;
  /**
   * Aborting it before `ready` kills the starting process, and `start` rejects with a `Cancelled`
   * {@link PythonError}: a stop that comes while Python imports need not wait for it.
   */
  signal?: AbortSignal;
  /** After a cancel, how long Python may take to stop before it is sent SIGTERM. @defaultValue 10000 */
  cancelGraceMs?: number;
  /** After SIGTERM, how long before SIGKILL. @defaultValue 5000 */
  killGraceMs?: number;
  /** Receives stderr lines, which also go to it at debug level. @defaultValue a silent logger */
  logger?: Logger;
  /** Called with every stderr line (prints, warnings, tracebacks of the Python process). */
  onStderr?: (line: string) => void;
}

export interface RequestOptions {
  /** Progress of this request (the worker sends at most 2 a second). */
  onProgress?: (progress: Progress) => void;
  /** Log lines of this request; without it they go to the logger. */
  onLog?: (entry: LogEntry) => void;
  /** Aborting sends `cancel`; the request then rejects with the worker's `Cancelled` error. */
  signal?: AbortSignal;
  /** Rejects with {@link RequestTimeout} after this long and cancels the request. @defaultValue none */
  timeoutMs?: number;
}

/** An `error` answer from the worker. */
export class PythonError extends Error {
  override readonly name = 'PythonError';
  constructor(
    /** BadInput (do not retry), OutOfMemory (retry smaller), Cancelled, Internal. */
    readonly type: ErrorType,
    message: string,
    /** The Python traceback ('' when the error did not come from an exception). */
    readonly traceback: string,
    /** The method of the failed request. */
    readonly method: string,
  ) {
    super(message);
  }
}

/** The process ended (or never started) while requests were pending. */
export class PythonProcessExited extends Error {
  override readonly name = 'PythonProcessExited';
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The last stderr lines, for the error report. */
    readonly stderrTail: string,
    what = 'python process exited',
  ) {
    super(`${what} (code ${code}, signal ${signal})${stderrTail ? `\n${stderrTail}` : ''}`);
  }
}

/** The process did not send `ready` in time (it has been killed). */
export class PythonStartTimeout extends Error {
  override readonly name = 'PythonStartTimeout';
  constructor(
    readonly timeoutMs: number,
    readonly stderrTail: string,
  ) {
    super(`python process not ready after ${timeoutMs} ms${stderrTail ? `\n${stderrTail}` : ''}`);
  }
}

/** A request ran past its `timeoutMs` (a cancel has been sent). */
export class RequestTimeout extends Error {
  override readonly name = 'RequestTimeout';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} timed out after ${timeoutMs} ms`);
  }
}

interface Pending {
  method: string;
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  opts?: RequestOptions;
  cleanup?: () => void;
  cancelled?: boolean;
}

/** Events: `exit` once the process has ended; `log` for log lines no request claims. */
export interface PythonProcessEvents {
  exit: [ExitInfo];
  log: [LogEntry];
}

/** The default interpreter: IPA_PYTHON, else the repository's .venv, else python3. */
export function defaultPython(): string {
  const venv = join(REPO_ROOT, '.venv', 'bin', 'python');
  return process.env.IPA_PYTHON ?? (existsSync(venv) ? venv : 'python3');
}

/** A running worker process; create with {@link PythonProcess.start}. */
export class PythonProcess extends EventEmitter<PythonProcessEvents> {
  /** Resolves once the process has ended (never rejects). */
  readonly exited: Promise<ExitInfo>;

  private readonly pending = new Map<RequestId, Pending>();
  private readonly stdin: Writable;
  private readonly stderrTail: string[] = [];
  private readonly log: Logger;
  private nextId = 0;
  private readyInfo: ReadyInfo | undefined;
  private readyWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private exit: ExitInfo | undefined;
  private resolveExited!: (info: ExitInfo) => void;
  private stdoutEnded: Promise<void>;
  private exiting = false;
  private closing: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    private readonly opts: PythonProcessOptions,
  ) {
    super();
    this.log = (opts.logger ?? pino({ enabled: false })).child({ python_pid: child.pid });
    this.exited = new Promise((res) => (this.resolveExited = res));
    this.stdin = child.stdin as Writable;
    // EPIPE once the process is gone: the exit handler reports that, with the status.
    this.stdin.on('error', () => undefined);
    const stdout = child.stdout as Readable;
    const stderr = child.stderr as Readable;
    const out = new LineSplitter(this.onLine);
    const err = new LineSplitter(this.onStderrLine);
    stdout.setEncoding('utf8');
    stderr.setEncoding('utf8');
    stdout.on('data', (chunk: string) => out.push(chunk));
    stderr.on('data', (chunk: string) => err.push(chunk));
    this.stdoutEnded = new Promise((res) => stdout.once('close', () => (out.flush(), res())));
    stderr.once('close', () => err.flush());
    child.once('exit', (code, signal) => void this.onExit(code, signal));
    // A failed spawn (no interpreter) emits no 'exit': the promise still settles.
    void child.then((r) => {
      if (r.exitCode === undefined && r.signal === undefined && r.failed)
        this.onStderrLine(r.originalMessage ?? r.message ?? 'spawn failed');
      return this.onExit(r.exitCode ?? null, (r.signal as NodeJS.Signals | undefined) ?? null);
    });
  }

  /**
   * Starts a worker and waits for its `ready` message.
   * @throws {@link PythonProcessExited} when it exits first, {@link PythonStartTimeout} after `readyTimeoutMs`
   */
  static async start(opts: PythonProcessOptions = {}): Promise<PythonProcess> {
    const pythonPath = opts.pythonPath ?? join(REPO_ROOT, 'workers');
    const inherited = opts.env && 'PYTHONPATH' in opts.env ? opts.env.PYTHONPATH : process.env.PYTHONPATH;
    const env = {
      ...opts.env,
      PYTHONPATH: inherited ? `${pythonPath}${delimiter}${inherited}` : pythonPath,
      PYTHONUNBUFFERED: '1',
    };
    const child = spawn(opts.python ?? defaultPython(), opts.args ?? ['-m', 'ipa_worker', 'serve'], opts.cwd, env);
    const proc = new PythonProcess(child, opts);
    await proc.waitReady(opts.readyTimeoutMs ?? 60_000, opts.signal);
    return proc;
  }

  /** What the worker reported at start: pid, package versions, devices, backends. */
  get ready(): ReadyInfo {
    if (!this.readyInfo) throw new Error('python process is not ready');
    return this.readyInfo;
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid ?? this.ready.pid;
  }

  /** How the process ended; undefined while it runs. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** Requests sent and not answered yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with its `result`.
   * @throws {@link PythonError} on an `error` answer, {@link PythonProcessExited} when the process
   * dies first, {@link RequestTimeout} after `opts.timeoutMs`
   */
  request<T = unknown>(method: string, params: object = {}, opts?: RequestOptions): Promise<T> {
    if (this.exit) return Promise.reject(this.exitedError());
    if (opts?.signal?.aborted)
      return Promise.reject(new PythonError('Cancelled', 'aborted before it was sent', '', method));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      // Encoded first: params that cannot be serialised reject here and leave nothing pending.
      const line = `{"v":${PROTOCOL_VERSION},"type":"request","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}\n`;
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
        reject(
          new ContractError(
            `${method} request of ${Buffer.byteLength(line)} bytes is longer than the protocol's ${MAX_LINE_BYTES}-byte line limit`,
          ),
        );
        return;
      }
      const p: Pending = { method, resolve, reject, opts };
      this.pending.set(id, p);
      if (opts && (opts.signal || opts.timeoutMs !== undefined)) this.watch(id, p, opts);
      this.stdin.write(line);
    });
  }

  /** Sets the JSON Schema every later `stage` payload is validated against (a mismatch fails with BadInput). */
  async configure(payloadSchema: object): Promise<void> {
    await this.request('configure', { payload_schema: payloadSchema });
  }

  /** Round trip that does nothing else: resolves with `data` as the worker parsed and re-encoded it. */
  async echo<T>(data: T): Promise<T> {
    return (await this.request<{ data: T }>('echo', { data })).data;
  }

  /** Liveness check; resolves with the worker's pid. */
  async ping(): Promise<{ pid: number }> {
    return this.request<{ pid: number }>('ping');
  }

  /**
   * Stops the process: `shutdown` (the worker cancels its work and exits 0), then SIGTERM after
   * `graceMs`, then SIGKILL after another `graceMs`. Pending requests reject.
   * @param graceMs - wait at each step @defaultValue 5000
   */
  async close({ graceMs = 5000 }: { graceMs?: number } = {}): Promise<ExitInfo> {
    this.closing ??= (async () => {
      if (this.exit) return;
      this.request('shutdown').catch(() => undefined);
      this.stdin.end();
      if (await this.exitsWithin(graceMs)) return;
      this.log.warn({ grace_ms: graceMs }, 'python process ignored shutdown: SIGTERM');
      this.kill('SIGTERM');
      if (await this.exitsWithin(graceMs)) return;
      this.log.warn('python process ignored SIGTERM: SIGKILL');
      this.kill('SIGKILL');
      await this.exited;
    })();
    await this.closing;
    return this.exited;
  }

  /**
   * Sends a signal now (no shutdown request).
   * @defaultValue signal `SIGTERM`
   * @returns whether the signal was delivered
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exit) return false;
    return this.child.kill(signal);
  }

  // -- internals ---------------------------------------------------------------------------

  private watch(id: number, p: Pending, opts: RequestOptions): void {
    const { signal, timeoutMs } = opts;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.cancel(id, p);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        p.reject(new RequestTimeout(p.method, timeoutMs));
        this.cancel(id, p);
      }, timeoutMs);
    }
    p.cleanup = () => {
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    };
  }

  /** Asks the worker to stop request `id`; SIGTERM (then SIGKILL) if it has not answered in time. */
  private cancel(id: number, p: Pending): void {
    if (p.cancelled || this.exit) return;
    p.cancelled = true;
    this.stdin.write(`{"v":${PROTOCOL_VERSION},"type":"cancel","id":${id}}\n`);
    const grace = this.opts.cancelGraceMs ?? 10_000;
    const timer = this.later(grace, () => {
      if (!this.pending.has(id)) return;
      this.log.warn({ method: p.method, grace_ms: grace }, 'cancelled request still running: SIGTERM');
      this.terminate();
    });
    const prev = p.cleanup;
    p.cleanup = () => {
      prev?.();
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** SIGTERM, then SIGKILL if the process is still there after `killGraceMs`. */
  private terminate(): void {
    this.kill('SIGTERM');
    this.later(this.opts.killGraceMs ?? 5000, () => this.kill('SIGKILL'));
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private async exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((res) => (timer = setTimeout(() => res(false), ms)));
    const done = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }

  private waitReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        this.kill('SIGKILL');
        void this.exited.then(() => reject(new PythonStartTimeout(timeoutMs, this.tail())));
      }, timeoutMs);
      const onAbort = () =>
        this.readyWaiter?.reject(
          new PythonError('Cancelled', 'stopped while the Python process was starting', '', 'start'),
        );
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.readyWaiter = undefined;
      };
      this.readyWaiter = {
        resolve: () => (done(), resolve()),
        reject: (err) => {
          done();
          // Do not leave a half-started process behind.
          this.kill('SIGKILL');
          reject(err);
        },
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // The hot path: results are dispatched with one JSON.parse and one Map lookup; the rarer
  // messages go through the zod schemas.
  private readonly onLine = (line: string): void => {
    if (line.length === 0) return;
    let msg: any;
    try {
      msg = JSON.parse(line);
    } catch {
      this.log.warn({ line: line.slice(0, 500) }, 'python wrote a line that is not JSON to the protocol stream');
      return;
    }
    if (msg !== null && msg.type === 'result' && msg.v === PROTOCOL_VERSION) {
      const p = this.pending.get(msg.id);
      if (p) {
        this.settle(msg.id, p);
        p.resolve(msg.result);
      }
      return;
    }
    this.onMessage(msg, line);
  };

  private onMessage(raw: unknown, line: string): void {
    const parsed = WorkerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ line: line.slice(0, 500), issues: parsed.error.issues.slice(0, 3) }, 'invalid protocol message');
      if ((raw as { type?: unknown } | null)?.type === 'ready') {
        this.readyWaiter?.reject(
          new Error(
            `invalid ready message (this orchestrator speaks protocol ${PROTOCOL_VERSION}): ${line.slice(0, 500)}`,
          ),
        );
      }
      return;
    }
    const msg: WorkerMessage = parsed.data;
    switch (msg.type) {
      case 'ready': {
        const { v: _v, type: _t, ...info } = msg;
        this.readyInfo = info;
        this.readyWaiter?.resolve();
        return;
      }
      case 'progress': {
        const cb = this.pending.get(msg.id)?.opts?.onProgress;
        if (cb) this.callSafely(cb, { done: msg.done, total: msg.total, metrics: msg.metrics });
        return;
      }
      case 'log': {
        const entry: LogEntry = { id: msg.id, level: msg.level, msg: msg.msg, fields: msg.fields };
        const cb = msg.id === null ? undefined : this.pending.get(msg.id)?.opts?.onLog;
        if (cb) {
          this.callSafely(cb, entry);
        } else {
          this.logEntry(entry);
          this.emit('log', entry);
        }
        return;
      }
      case 'result': {
        const p = this.pending.get(msg.id);
        if (p) {
          this.settle(msg.id, p);
          p.resolve(msg.result);
        }
        return;
      }
      case 'error': {
        const p = this.pending.get(msg.id);
        if (p) {
          this.settle(msg.id, p);
          p.reject(new PythonError(msg.error.type, msg.error.message, msg.error.traceback, p.method));
        }
        return;
      }
    }
  }

  private settle(id: RequestId, p: Pending): void {
    this.pending.delete(id);
    p.cleanup?.();
  }

  private callSafely<A>(cb: (arg: A) => void, arg: A): void {
    try {
      cb(arg);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'bridge callback threw');
    }
  }

  private logEntry(e: LogEntry): void {
    const level = e.level === 'warning' ? 'warn' : e.level === 'critical' ? 'fatal' : e.level;
    this.log[level]({ ...e.fields, request: e.id, source: 'python' }, e.msg);
  }

  private readonly onStderrLine = (line: string): void => {
    const kept = line.length > STDERR_LINE_MAX ? `${line.slice(0, STDERR_LINE_MAX)}…` : line;
    this.stderrTail.push(kept);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.log.debug({ stderr: kept }, 'python stderr');
    if (this.opts.onStderr) this.callSafely(this.opts.onStderr, line);
  };

  private tail(): string {
    return this.stderrTail.join('\n');
  }

  private exitedError(what?: string): PythonProcessExited {
    const e = this.exit ?? { code: null, signal: null };
    return new PythonProcessExited(e.code, e.signal, this.tail(), what);
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    // Answers written just before the exit are still in the pipe: read them first. Only this
    // process holds the protocol pipe, so it closes promptly (the wait is a safety bound).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.stdoutEnded, new Promise((res) => (timer = setTimeout(res, 2000)))]);
    clearTimeout(timer);
    this.exit = { code, signal };
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.log.debug({ code, signal, pending: this.pending.size }, 'python process exited');
    this.readyWaiter?.reject(this.exitedError('python process exited before it was ready'));
    for (const [id, p] of [...this.pending]) {
      this.settle(id, p);
      p.reject(this.exitedError());
    }
    this.resolveExited(this.exit);
    this.emit('exit', this.exit);
  }
}

function spawn(python: string, args: string[], cwd: string | undefined, env: Record<string, string | undefined>) {
  return execa(python, args, {
    cwd,
    env,
    extendEnv: true,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    // Escalation is ours (close, cancel grace); execa's own delayed SIGKILL would race it.
    forceKillAfterDelay: false,
  });
}
