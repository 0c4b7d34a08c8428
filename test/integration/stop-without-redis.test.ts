/**
 * Issue 29, item 1: every long-lived command stops when told, whatever the state of Redis. As a
 * container runtime or a service manager would: Redis dies first, then one SIGTERM, and the
 * command must be gone within the bound its --help states (the default), say what it could not
 * hand back, and leave the run resumable, which each test then shows by finishing the run. Real
 * processes and real redis-servers; the fake Python worker stands in for the stages (a prepare
 * that runs for ten minutes, then stages that write their outputs at once), so each case takes
 * seconds.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_GRACE_MS } from '../../orchestrator/agent/agent.js';
import { DEFAULT_STOP_MS } from '../../orchestrator/deadline.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeWorkspace, type FakeWorkspace } from '../helpers/fake-workspace.js';
import { IpaChild } from '../helpers/ipa-child.js';
import { ipaInProcess } from '../helpers/ipa-in-process.js';
import { uniquePrefix } from '../helpers/redis.js';
import { processTree, redisServersOn } from '../helpers/tmux.js';
import { alive, waitFor } from './faults-support.js';

/** A job that runs for ten minutes (the stop finds it running), or stages that end at once. */
const SLOW = { FAKE_STAGE_MS: '600000' };
const FAST = { FAKE_STAGE_MS: '0' };
const NO_BACKSTOP = 'the stop took longer';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function workspace(overrides: Record<string, unknown> = {}): FakeWorkspace {
  const w = fakeWorkspace(overrides);
  cleanup.push(() => w.remove());
  return w;
}

function ipa(argv: string[], env: Record<string, string>): IpaChild {
  const c = new IpaChild(argv, env);
  cleanup.push(() => c.kill());
  return c;
}

async function privateRedis(): Promise<LocalRedis> {
  const r = await LocalRedis.start();
  cleanup.push(() => r.stop());
  return r;
}

const prepareOf = (store: RunStore) => jobId({ runId: store.id, round: 0, stage: 'prepare', shard: 0 });
const started = (store: RunStore, id: string) => existsSync(store.abs(`jobs/${id}.attempts`));

async function noneAlive(pids: number[]): Promise<void> {
  await waitFor(`processes ${pids.join(', ')} to be gone`, () => pids.every((p) => !alive(p)), 5000, 50);
}

describe('a stop signal ends each long-lived command in bounded time when Redis is gone', () => {
  it('--help states the bound of each', async () => {
    for (const cmd of ['run', 'worker', 'dashboard', 'ablate']) {
      const help = await ipaInProcess(cmd, '--help');
      expect(help.code).toBe(0);
      expect(help.out, cmd).toMatch(
        new RegExp(
          `--stop-ms MS +after SIGTERM or Ctrl-C the command ends within this long \\(default ${DEFAULT_STOP_MS}\\),\\s+whether or not Redis answers`,
        ),
      );
    }
    expect((await ipaInProcess('worker', '--help')).out).toContain(
      `The whole stop takes at most --grace-ms + --stop-ms (${(DEFAULT_GRACE_MS + DEFAULT_STOP_MS) / 1000} s by default)`,
    );
  });

  it('ipa run: its private Redis killed, then SIGTERM: exit 130 within the bound, the run interrupted; `ipa run <id>` then finishes it', async () => {
    const w = workspace();
    const run = ipa(['run', w.file], { ...w.env, ...SLOW });
    const [, id, dir] = await run.waitFor(/ run (\S+) → (\S+)/, 60_000);
    const port = Number((await run.waitFor(/private redis-server on 127\.0\.0\.1:(\d+)/, 1000))[1]);
    const store = new RunStore(dir);
    await waitFor('prepare to start', () => started(store, prepareOf(store)), 60_000);
    const tree = processTree(run.pid);
    for (const pid of redisServersOn(port)) process.kill(pid, 'SIGKILL');
    await waitFor('the private Redis to die', () => redisServersOn(port).length === 0, 5000, 20);

    const { code, ms } = await run.stop('SIGTERM', DEFAULT_STOP_MS + 30_000);
    console.log(`ipa run ended ${ms} ms after SIGTERM`);
    expect({ code, out: run.output() }).toMatchObject({ code: 130 });
    expect(ms).toBeLessThan(DEFAULT_STOP_MS);
    const out = run.output();
    expect(out).not.toContain(NO_BACKSTOP);
    expect(out).toContain(`job ${prepareOf(store)} was not handed back (Redis is unreachable)`);
    expect(out).toContain(`continue it with:  ipa run ${id}`);
    expect(store.info().state).toBe('interrupted');
    await noneAlive(tree);

    const cont = ipa(['run', id], { ...w.env, ...FAST });
    expect(await cont.done(120_000), cont.output()).toBe(0);
    expect(store.info().state).toBe('completed');
  }, 240_000);

  it('ipa worker: Redis killed, then SIGTERM: exits within --grace-ms + --stop-ms, says the job was not handed back; resume and a worker finish the run', async () => {
    const w = workspace();
    const redis = await privateRedis();
    const prefix = uniquePrefix('stop-worker');
    const on = ['--redis-url', redis.url, '--prefix', prefix];
    const submit = ipa(['submit', w.file, ...on], w.env);
    expect(await submit.done(60_000), submit.output()).toBe(0);
    const store = new RunStore(join(w.runsDir, submit.output().trim().split('\n').pop()!.trim()));
    const worker = ipa(['worker', ...on], { ...w.env, ...SLOW });
    await waitFor('prepare to start', () => started(store, prepareOf(store)), 60_000);
    const tree = processTree(worker.pid);
    await redis.kill();

    const { code, ms } = await worker.stop('SIGTERM', DEFAULT_GRACE_MS + DEFAULT_STOP_MS + 30_000);
    console.log(`ipa worker ended ${ms} ms after SIGTERM`);
    expect({ code, out: worker.output() }).toMatchObject({ code: 0 });
    expect(ms).toBeLessThan(DEFAULT_GRACE_MS + DEFAULT_STOP_MS);
    const out = worker.output();
    expect(out).not.toContain(NO_BACKSTOP);
    expect(out).toContain(`job ${prepareOf(store)} was not handed back (Redis is unreachable)`);
    expect(out).toMatch(
      /this worker was not removed from the list of workers \(Redis did not answer\): it drops off by itself within 15 s/,
    );
    await noneAlive(tree);

    // Redis comes back empty (it kept nothing): the documented repair queues the run again.
    await redis.restart();
    const resume = ipa(['resume', store.id, ...on], w.env);
    expect(await resume.done(60_000), resume.output()).toBe(0);
    const again = ipa(['worker', ...on], { ...w.env, ...FAST });
    await waitFor('the run to complete', () => store.info().state === 'completed', 120_000, 200);
    // And with Redis up, the stop is as quick.
    const up = await again.stop('SIGTERM', DEFAULT_GRACE_MS + DEFAULT_STOP_MS + 30_000);
    console.log(`ipa worker (Redis up, idle) ended ${up.ms} ms after SIGTERM`);
    expect(up.code).toBe(0);
    expect(up.ms).toBeLessThan(DEFAULT_GRACE_MS + DEFAULT_STOP_MS);
  }, 240_000);

  it('ipa dashboard: with a live page and the queue board open, Redis killed, then SIGTERM: exits within the bound', async () => {
    const w = workspace();
    const redis = await privateRedis();
    const dash = ipa(
      [
        'dashboard',
        '--port',
        '0',
        '--redis-url',
        redis.url,
        '--prefix',
        uniquePrefix('stop-dash'),
        '--runs-dir',
        w.runsDir,
      ],
      w.env,
    );
    const [, url] = await dash.waitFor(/dashboard: (\S+)/, 60_000);
    for (const path of ['api/workers', 'queues/api/queues?page=1']) expect((await fetch(url + path)).status).toBe(200);
    const page = new AbortController();
    cleanup.push(() => page.abort());
    const events = await fetch(`${url}api/events`, { signal: page.signal });
    expect(events.status).toBe(200);
    await redis.kill();
    // The page's next poll of the workers now waits on the dead Redis.
    await new Promise((r) => setTimeout(r, 1500));

    const { code, ms } = await dash.stop('SIGTERM', DEFAULT_STOP_MS + 30_000);
    console.log(`ipa dashboard ended ${ms} ms after SIGTERM`);
    expect({ code, out: dash.output() }).toMatchObject({ code: 0 });
    expect(ms).toBeLessThan(DEFAULT_STOP_MS);
    expect(dash.output()).not.toContain(NO_BACKSTOP);
  }, 120_000);

  it('ipa ablate: Redis killed, then SIGTERM: exit 130 within the bound, both runs interrupted and each continued with `ipa run <id>`', async () => {
    const w = workspace({
      rounds: [{ name: 'automated' }, { name: 'evolved' }, { name: 'reference' }],
      eval: { after: 'every_round' },
    });
    const redis = await privateRedis();
    const on = ['--redis-url', redis.url, '--prefix', uniquePrefix('stop-ablate')];
    const ablate = ipa(['ablate', w.file, ...on], { ...w.env, ...SLOW });
    const [, a, b] = await ablate.waitFor(/runs (\S+) and (\S+)/, 60_000);
    const stores = [a, b].map((id) => new RunStore(join(w.runsDir, id)));
    await waitFor('a prepare to start', () => stores.some((s) => started(s, prepareOf(s))), 60_000);
    const tree = processTree(ablate.pid);
    await redis.kill();

    const { code, ms } = await ablate.stop('SIGTERM', DEFAULT_STOP_MS + 30_000);
    console.log(`ipa ablate ended ${ms} ms after SIGTERM`);
    expect({ code, out: ablate.output() }).toMatchObject({ code: 130 });
    expect(ms).toBeLessThan(DEFAULT_STOP_MS);
    const out = ablate.output();
    expect(out).not.toContain(NO_BACKSTOP);
    for (const s of stores) {
      expect(s.info().state).toBe('interrupted');
      expect(out).toContain(`run ${s.id} interrupted: continue it with:  ipa run ${s.id} --redis-url`);
    }
    await noneAlive(tree);

    const cont = ipa(['run', a], { ...w.env, ...FAST });
    expect(await cont.done(120_000), cont.output()).toBe(0);
    expect(stores[0].info().state).toBe('completed');
  }, 240_000);
});
