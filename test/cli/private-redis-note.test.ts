/**
 * Issue 27, item 3: `ipa run` notes the private Redis it starts, so `ipa workers` and
 * `ipa dashboard` in another terminal find its queues with no REDIS_URL; the note is private to
 * the user, goes when the session ends, and a note left by a killed session is dropped unread.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  livePrivateRedisNotes,
  privateRedisNotesDir,
  writePrivateRedisNote,
} from '../../orchestrator/store/private-redis-notes.js';
import { fakeWorkspace } from '../helpers/fake-workspace.js';
import { IpaChild } from '../helpers/ipa-child.js';
import { ipaInProcess } from '../helpers/ipa-in-process.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('notes of private Redis servers', () => {
  it('are private files, listed newest first while their process lives; a dead process its note is removed', () => {
    const state = mkdtempSync(join(tmpdir(), 'ipa-notes-'));
    cleanup.push(() => rmSync(state, { recursive: true, force: true }));
    const env = { IPA_STATE_DIR: state };
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const note = (pid: number, at: string) => ({ pid, url: 'redis://:pw@127.0.0.1:1', prefix: 'ipa', started_at: at });
    expect(writePrivateRedisNote(note(dead, '2026-12-07T01:00:00.000Z'), env)).toBeUndefined();
    expect(writePrivateRedisNote(note(process.pid, '2026-12-07T02:00:00.000Z'), env)).toBeUndefined();
    expect(writePrivateRedisNote(note(process.ppid, '2026-12-07T03:00:00.000Z'), env)).toBeUndefined();

    const dir = privateRedisNotesDir(env);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(livePrivateRedisNotes(env).map((n) => n.pid)).toEqual([process.ppid, process.pid]);
    expect(existsSync(join(dir, `${dead}.json`))).toBe(false);
  });
});

describe('ipa workers and ipa dashboard beside an ipa run', () => {
  it('find the private Redis of the run going on, and no longer once it ends', async () => {
    const w = fakeWorkspace();
    cleanup.push(() => w.remove());
    const run = new IpaChild(['run', w.file], { ...w.env, FAKE_STAGE_MS: '600000' });
    cleanup.push(() => run.kill());
    const port = (await run.waitFor(/private redis-server on 127\.0\.0\.1:(\d+)/, 60_000))[1];
    expect(run.output()).toContain('`ipa workers` and `ipa dashboard` in another terminal find it');
    await run.waitFor(/run \S+ is running/, 60_000);

    vi.stubEnv('IPA_STATE_DIR', w.env.IPA_STATE_DIR);
    vi.stubEnv('REDIS_URL', '');
    const notes = livePrivateRedisNotes();
    expect(notes).toMatchObject([{ pid: run.pid, prefix: 'ipa' }]);
    expect(notes[0].url).toMatch(new RegExp(`^redis://:[0-9a-f]{48}@127\\.0\\.0\\.1:${port}$`));

    const workers = await ipaInProcess('workers');
    expect(workers.code, workers.err).toBe(0);
    expect(workers.err).toContain(`no REDIS_URL: using the private Redis of the \`ipa run\` going on (pid ${run.pid}`);
    expect(workers.err).not.toMatch(/[0-9a-f]{48}/); // the password is redacted
    expect(workers.out).toMatch(/^\S+ {2}queues control,prepare,.* {2}slots 1 /m);

    const dash = new IpaChild(['dashboard', '--port', '0'], { ...w.env });
    cleanup.push(() => dash.kill());
    const queuesLine = (await dash.waitFor(/^queues: +(.*)$/m, 60_000))[1];
    expect(queuesLine).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/queues {2}\(read-only\)$/);
    expect((await dash.stop('SIGTERM', 30_000)).code).toBe(0);

    expect((await run.stop('SIGTERM', 30_000)).code).toBe(130);
    expect(livePrivateRedisNotes()).toEqual([]);
    const after = await ipaInProcess('workers');
    expect(after.code).toBe(4);
    expect(after.err).toContain('no Redis configured');
  }, 240_000);
});
