/**
 * A long-lived `ipa` command as a separate process (what a service manager runs): its output as
 * it comes, a wait for a line, signals, and how long it took to exit after one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './harness.js';

export class IpaChild {
  readonly child: ChildProcess;
  private text = '';
  private exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  private readonly exited: Promise<void>;

  /** `env` is added to this process's environment; a value of '' removes the variable. */
  constructor(argv: string[], env: Record<string, string> = {}) {
    const merged = Object.fromEntries(
      Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined && v !== ''),
    );
    this.child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'orchestrator', 'cli', 'main.ts'), ...argv], {
      cwd: REPO,
      env: merged,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => (this.text += b.toString());
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    // 'exit' can come before the last output is read: what it printed when it stopped is what the
    // stop tests judge, so the wait also takes 'close' (its pipes drained), within a bound in case
    // a process it left behind holds them open.
    const closed = new Promise<void>((r) => this.child.once('close', () => r()));
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        const at = Date.now();
        void Promise.race([closed, new Promise((t) => setTimeout(t, 5000))]).then(() => {
          this.exit = { code, signal, at };
          r();
        });
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Everything it printed so far, stdout and stderr together. */
  output(): string {
    return this.text;
  }

  /** Waits until the output matches `re`; returns the match. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (this.exit)
        throw new Error(
          `ipa exited (${this.exit.code ?? this.exit.signal}) before printing ${re}; it printed:\n${this.text}`,
        );
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; it printed:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Sends one `signal` and waits up to `waitMs` for the exit: its code and how long it took. A
   * process still there then is killed (SIGKILL) and reported with `code: undefined`.
   */
  async stop(signal: NodeJS.Signals, waitMs: number): Promise<{ code: number | null | undefined; ms: number }> {
    const t0 = Date.now();
    this.child.kill(signal);
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, waitMs))]);
    if (!this.exit) {
      this.kill();
      return { code: undefined, ms: Date.now() - t0 };
    }
    return { code: this.exit.code, ms: this.exit.at - t0 };
  }

  /** Waits for the exit (no signal); its code. */
  async done(timeoutMs: number): Promise<number | null> {
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs))]);
    if (!this.exit) throw new Error(`ipa did not end within ${timeoutMs} ms; it printed:\n${this.text}`);
    return this.exit.code;
  }

  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }
}
