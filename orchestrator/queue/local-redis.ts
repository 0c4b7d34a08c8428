/**
 * A private Redis for tests, the demo and `ipa run` when no REDIS_URL is given: Debian's
 * `redis-server` on a free loopback port, data in a temp folder, stopped with its owner.
 *
 * It runs in its own process group, so a Ctrl-C at the terminal reaches only its owner, which
 * stops it after its own orderly shutdown; and it is killed when its owner exits any other way
 * (a second Ctrl-C, an uncaught error), so no redis-server outlives the command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.js';
import { ping } from './connection.js';

export interface LocalRedisOptions {
  /** Keep an append-only file so a restart keeps the data (chaos tests restart Redis). @defaultValue false */
  appendonly?: boolean;
  port?: number;
  password?: string;
  /** @defaultValue 'noeviction' (BullMQ needs it; tests set others to check the refusal) */
  maxmemoryPolicy?: string;
}

export class LocalRedis {
  private proc?: ChildProcess;
  /** Kills the server when this process exits before `stop` (synchronous: 'exit' allows nothing else). */
  private readonly killOnExit = (): void => {
    try {
      this.proc?.kill('SIGKILL');
    } catch {
      // already gone
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  };
  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly opts: LocalRedisOptions,
  ) {}

  static async start(opts: LocalRedisOptions = {}): Promise<LocalRedis> {
    const port = opts.port ?? (await freePort());
    const r = new LocalRedis(port, mkdtempSync(join(tmpdir(), 'ipa-redis-')), opts);
    await r.spawn();
    return r;
  }

  get url(): string {
    return this.opts.password
      ? `redis://:${encodeURIComponent(this.opts.password)}@127.0.0.1:${this.port}`
      : `redis://127.0.0.1:${this.port}`;
  }

  private async spawn(): Promise<void> {
    // The password goes in through stdin (`redis-server -` reads configuration there), so it is in
    // no file and never on a command line, which any user of the host can read in /proc.
    const args = [
      '-',
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dataDir,
      '--save',
      '',
      '--maxmemory-policy',
      this.opts.maxmemoryPolicy ?? 'noeviction',
    ];
    args.push('--appendonly', this.opts.appendonly ? 'yes' : 'no');
    const proc = spawn('redis-server', args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    proc.stdin?.on('error', () => undefined); // a server that failed to start closed it; its exit says why
    proc.stdin?.end(this.opts.password ? `requirepass "${this.opts.password.replace(/[\\"]/g, '\\$&')}"\n` : '');
    process.removeListener('exit', this.killOnExit);
    process.once('exit', this.killOnExit);
    let stderr = '';
    proc.stderr?.on('data', (b) => (stderr += String(b)));
    const failed = new Promise<never>((_, rej) => {
      proc.once('error', (e) =>
        rej(new Error(`cannot start redis-server (is it installed? make setup installs it): ${e.message}`)),
      );
      proc.once('exit', (code) => rej(new Error(`redis-server exited with ${code}: ${stderr.trim()}`)));
    });
    failed.catch(() => undefined); // only observed through the race below
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await Promise.race([ping(this.url, 500), failed]);
        return;
      } catch (err) {
        if (
          Date.now() > deadline ||
          (err instanceof Error && err.message.startsWith('redis-server')) ||
          (err instanceof Error && err.message.startsWith('cannot start'))
        )
          throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Kills the server (SIGKILL), as a crash would: tests of what happens when Redis is gone. */
  async kill(): Promise<void> {
    await this.stopProcess('SIGKILL');
  }

  /** Stops the server abruptly (SIGKILL) or cleanly, then starts it again on the same port. */
  async restart(opts: { hard?: boolean } = {}): Promise<void> {
    await this.stopProcess(opts.hard ? 'SIGKILL' : 'SIGTERM');
    await this.spawn();
  }

  private async stopProcess(signal: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill(signal);
    });
  }

  /** The server's process id (tests check that none is left behind). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Stops the server: SIGTERM, and SIGKILL when it is still there after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    const p = this.proc;
    const timer = setTimeout(() => p?.kill('SIGKILL'), graceMs);
    await this.stopProcess('SIGTERM');
    clearTimeout(timer);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
