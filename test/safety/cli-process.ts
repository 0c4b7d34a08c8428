/** Runs `ipa` as a real process (what a shell sees): exit code, stdout, stderr. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/harness.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ipa(argv: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'orchestrator', 'cli', 'main.ts'), ...argv], {
      cwd: REPO,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += String(b)));
    c.stderr.on('data', (b) => (stderr += String(b)));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('error', rej);
    c.once('exit', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

/** A Node stack frame line, e.g. `    at main (/x/main.ts:12:3)`. */
export const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;
