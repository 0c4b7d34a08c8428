/**
 * Issue 27, item 5: the commands ipa prints (`ipa run …`) need `ipa` on PATH, which a clone's
 * `npm ci` does not give. `make setup` ends with scripts/ipa-on-path.sh, which says how; here the
 * commands it prints are run as printed (npm's global folder pointed at a scratch one) and `ipa`
 * then runs from any folder, and `npx ipa` inside the clone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from './helpers/harness.js';

const USAGE = 'Usage: ipa <command> [options]';
const scratch: string[] = [];
afterEach(() => scratch.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** PATH without any folder that holds an `ipa`, as on a machine that never linked it. */
const barePath = () =>
  process.env
    .PATH!.split(delimiter)
    .filter((d) => !existsSync(join(d, 'ipa')))
    .join(delimiter);

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv) {
  const r = spawnSync('bash', ['-c', command], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('make setup: ipa on PATH', () => {
  it('make setup ends with the hint, and the README says so', () => {
    expect(readFileSync(join(REPO, 'Makefile'), 'utf8')).toMatch(/^setup: .*\n\t@scripts\/ipa-on-path\.sh\n/m);
    expect(readFileSync(join(REPO, 'README.md'), 'utf8').replace(/\s+/g, ' ')).toContain(
      '`make setup` ends by saying how when `ipa` is not there: `npm link` in the clone',
    );
  });

  it('prints commands that, run as printed, put ipa on PATH; then says nothing', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'ipa-npm-prefix-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'ipa-elsewhere-'));
    scratch.push(prefix, elsewhere);
    // npm's global folder is a scratch one: `npm link` must not touch the machine's.
    const env = { PATH: barePath(), npm_config_prefix: prefix };
    const hint = sh('scripts/ipa-on-path.sh', REPO, env);
    expect(hint.status).toBe(0);
    expect(hint.out).toContain('`ipa` is not on your PATH');
    expect(sh('ipa --help', elsewhere, env).status).toBe(127);

    const commands = hint.out
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.replace(/#.*/, '').trim());
    expect(commands).toEqual(['npm link']);
    for (const c of commands) expect(sh(c, REPO, env).status, c).toBe(0);

    // npm's global bin folder is on a user's PATH (`npm prefix -g`/bin).
    const linked = { ...env, PATH: `${join(prefix, 'bin')}${delimiter}${env.PATH}` };
    const help = sh('ipa --help', elsewhere, linked);
    expect(help.out).toContain(USAGE);
    expect(help.status).toBe(0);
    expect(sh('scripts/ipa-on-path.sh', REPO, linked)).toEqual({ status: 0, out: '' });
  });

  it('names npx ipa for inside the clone, and it runs there', () => {
    const hint = sh('scripts/ipa-on-path.sh', REPO, { PATH: barePath() });
    expect(hint.out).toContain('`npx ipa …` runs ipa inside this folder');
    const help = sh('npx ipa --help', join(REPO, 'docs'), { PATH: barePath() });
    expect(help.out).toContain(USAGE);
  });
});
