/**
 * A command in a real terminal: a tmux session on a private server (its own socket), so tests
 * see what a person sees (`capture-pane` gives the rendered screen: carriage returns and cursor
 * moves already applied) and can press keys (C-c is a real SIGINT from the terminal to the
 * foreground process group). The command runs under bash, which prints `[exit N]` when it ends.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { alive } from '../integration/faults-support.js';

export interface TmuxOptions {
  cwd: string;
  /** Added to this process's environment; '' removes a variable. */
  env?: Record<string, string>;
  /** @defaultValue 200 */
  width?: number;
  /** @defaultValue 50 */
  height?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `'a b'` → `'a b'` quoted for bash. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class TmuxSession {
  private constructor(
    private readonly socket: string,
    readonly name: string,
  ) {}

  static start(command: string, o: TmuxOptions): TmuxSession {
    const socket = `ipa-test-${randomBytes(4).toString('hex')}`;
    const s = new TmuxSession(socket, 'main');
    const script = `${command}; echo "[exit $?]"; sleep 3600`;
    // An env value of '' removes the variable (REDIS_URL: '' makes `ipa run` start its own Redis).
    const env = Object.fromEntries(
      Object.entries({ ...process.env, ...o.env }).filter(([, v]) => v !== undefined && v !== ''),
    );
    execFileSync(
      'tmux',
      [
        '-L',
        socket,
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        s.name,
        '-x',
        String(o.width ?? 200),
        '-y',
        String(o.height ?? 50),
        '-c',
        o.cwd,
        'bash',
        '--norc',
        '--noprofile',
        '-c',
        script,
      ],
      { env },
    );
    execFileSync('tmux', ['-L', socket, 'set-option', '-t', s.name, 'history-limit', '5000']);
    return s;
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** The screen and the scrollback above it, as rendered, trailing blank lines removed. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', this.name, '-S', '-5000').replace(/\s+$/, '');
  }

  /** Only the visible screen. */
  visible(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', this.name).replace(/\s+$/, '');
  }

  /** Presses keys, e.g. `C-c`. */
  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Pid of the bash running the command. */
  shellPid(): number {
    return Number(this.tmux('display-message', '-p', '-t', this.name, '#{pane_pid}').trim());
  }

  /** Pid of the command itself: the shell's child. */
  commandPid(): number | undefined {
    return childrenOf(this.shellPid())[0];
  }

  /** Waits until `test` holds for the screen; returns the screen. */
  async waitFor(what: string, test: (screen: string) => boolean, timeoutMs: number, everyMs = 250): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (test(s)) return s;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${s}`);
      await sleep(everyMs);
    }
  }

  /** Waits for the command to end and returns its exit code. */
  async exitCode(timeoutMs: number): Promise<number> {
    const s = await this.waitFor('the command to end', (x) => /^\[exit \d+\]$/m.test(x), timeoutMs);
    return Number(/^\[exit (\d+)\]$/m.exec(s)![1]);
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

/** Pids whose parent is `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(processTree)];
}

/**
 * Pids of redis-server processes listening on `port`, by their command line: redis-server
 * rewrites it to its title, `redis-server 127.0.0.1:<port>` (the arguments, `--port <port>`, are
 * only there for the moment before).
 */
export function redisServersOn(port: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
        .split(/[\0 ]+/)
        .filter(Boolean);
      if (!cmd[0]?.endsWith('redis-server') || !alive(Number(d))) continue;
      const byArgs = cmd.includes('--port') && cmd[cmd.indexOf('--port') + 1] === String(port);
      const byTitle = cmd.slice(1).some((w) => w.endsWith(`:${port}`));
      if (byArgs || byTitle) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
