/**
 * What `ipa run` and `ipa ablate` need to run recipes from one command: Redis (a private
 * `redis-server` when no URL is given), the queues, and an in-process worker agent when no
 * worker is connected; closed in order (agent, queues, connection, private Redis).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { WorkerAgent, type AgentOptions } from '../agent/agent.js';
import { listWorkers } from '../agent/registry.js';
import { Deadline, DEFAULT_STOP_MS } from '../deadline.js';
import { closeConnection, connect } from '../queue/connection.js';
import { LocalRedis } from '../queue/local-redis.js';
import { QueueSet } from '../queue/queues.js';
import { removePrivateRedisNote, writePrivateRedisNote } from '../store/private-redis-notes.js';

/** Settings of the in-process agent; Redis and the prefix are the session's. */
export type LocalWorkerOptions = Omit<AgentOptions, 'redisUrl' | 'prefix'>;

export interface LocalSessionOptions {
  /** Redis to use. @defaultValue a private redis-server on a free loopback port, stopped on close */
  redisUrl?: string;
  prefix: string;
  /** The in-process agent's options (lock duration, stalled interval, interpreter, ...). @defaultValue the agent's defaults */
  worker?: LocalWorkerOptions;
  /** How long `close` lets the agent's running jobs finish. @defaultValue 5000 */
  closeGraceMs?: number;
}

export class LocalSession {
  private agent?: WorkerAgent;

  private constructor(
    readonly redisUrl: string,
    readonly queues: QueueSet,
    /** The redis-server this session started, if it started one. */
    readonly privateRedis: LocalRedis | undefined,
    private readonly opts: LocalSessionOptions,
    /**
     * Why the private Redis could not be noted for other terminals (private-redis-notes.ts);
     * undefined when it was, or when there is no private Redis.
     */
    readonly noteProblem?: string,
  ) {}

  static async open(opts: LocalSessionOptions): Promise<LocalSession> {
    // Loopback is not private on a shared host: anyone on it could write the queues, so the
    // private server also takes a random password that only this process knows.
    const privateRedis = opts.redisUrl
      ? undefined
      : await LocalRedis.start({ password: randomBytes(24).toString('hex') });
    const url = opts.redisUrl ?? privateRedis!.url;
    // `ipa workers` and `ipa dashboard` in another terminal find it through this note.
    const noteProblem = privateRedis
      ? writePrivateRedisNote({ pid: process.pid, url, prefix: opts.prefix, started_at: new Date().toISOString() })
      : undefined;
    const conn = connect(url);
    conn.on('error', () => undefined); // a lost Redis is reported by the agent and by what waits on it
    return new LocalSession(url, new QueueSet(conn, opts.prefix), privateRedis, opts, noteProblem);
  }

  get connection(): Redis {
    return this.queues.connection;
  }

  /** Whether any worker agent serves this Redis and prefix (it would take the session's jobs). */
  async hasWorkers(): Promise<boolean> {
    return (await listWorkers(this.connection, this.queues.prefix)).length > 0;
  }

  /** Starts the in-process agent on every queue (once). */
  async startWorker(): Promise<WorkerAgent> {
    this.agent ??= await WorkerAgent.start({
      ...this.opts.worker,
      redisUrl: this.redisUrl,
      prefix: this.queues.prefix,
    });
    return this.agent;
  }

  /** Pids of the in-process agent's Python processes (killed on a forced exit). */
  pythonPids(): number[] {
    return this.agent?.pythonPids() ?? [];
  }

  /**
   * Stops the agent (its running jobs get `graceMs` to finish, then go back to the queue), the
   * queues, the connection and the private Redis, within `stopMs` after the grace whatever the
   * state of Redis (the agent says what it could not hand back).
   */
  async close(opts: { graceMs?: number; stopMs?: number } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? this.opts.closeGraceMs ?? 5000;
    const stopMs = opts.stopMs ?? DEFAULT_STOP_MS;
    const end = Deadline.in(graceMs + stopMs);
    // The agent gets most of the stop; the last part is for the queues, the connection and the server.
    await this.agent?.close(graceMs, stopMs - Math.min(1000, stopMs / 5));
    await this.queues.close(end);
    await closeConnection(this.connection, end);
    if (this.privateRedis) removePrivateRedisNote(process.pid);
    await this.privateRedis?.stop(end.left());
  }
}
