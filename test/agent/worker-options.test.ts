/**
 * Lock duration and stalled interval are BullMQ Worker options, set per worker (`ipa worker`,
 * and the in-process worker of `ipa run` / `ipa ablate`). Shown where BullMQ keeps them in
 * Redis: a running job's lock key expires after the lock duration (renewed at half of it), and
 * each queue's stall-check key after the stalled interval (set by every check).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS } from '../../orchestrator/queue/queues.js';
import { main } from '../../orchestrator/cli/main.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';
import { LocalSession } from '../../orchestrator/run/local-session.js';
import { submitRun } from '../../orchestrator/run/submit.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { redisUrl } from '../helpers/redis.js';
import { waitFor } from '../integration/faults-support.js';

const LOCK_MS = 120_000;
const STALLED_MS = 45_000;

describe('worker timing options reach BullMQ', () => {
  let h: Harness | undefined;
  let session: LocalSession | undefined;
  afterEach(async () => {
    await session?.close();
    await h?.close();
    session = undefined;
    h = undefined;
  });

  it('the local session of ipa run / ipa ablate: the job lock lasts --lock-ms, the stall check runs every --stalled-ms', async () => {
    // The checks below only tell the options from the defaults when these hold.
    expect(LOCK_MS - 20_000).toBeGreaterThan(DEFAULT_LOCK_DURATION_MS);
    expect(STALLED_MS).toBeGreaterThan(DEFAULT_STALLED_INTERVAL_MS);
    // The harness gives the recipe file and a prefix it cleans up; the session brings the agent.
    h = await harness('lock', tinyRecipe());
    const prefix = h.prefix;
    session = await LocalSession.open({
      redisUrl: redisUrl(),
      prefix,
      // The prepare job runs 4 s in the fake worker: long enough to read its lock.
      worker: {
        lockDurationMs: LOCK_MS,
        stalledIntervalMs: STALLED_MS,
        queues: ['prepare'],
        ...fakeWorker({ stageMs: 4000 }),
      },
    });
    const store = await submitRun({
      recipe: loadRecipe(h.recipeFile).recipe,
      recipeFile: h.recipeFile,
      queues: session.queues,
    });
    expect(await session.hasWorkers()).toBe(false);
    await session.startWorker();

    const id = jobId({ runId: store.id, round: 0, stage: 'prepare', shard: 0 });
    const lockTtl = await waitFor(
      'the prepare job to hold its lock',
      async () => {
        const ttl = await session!.connection.pttl(`${prefix}:prepare:${id}:lock`);
        return ttl > 0 ? ttl : undefined;
      },
      30_000,
      20,
    );
    // Set at LOCK_MS when the job started, a few seconds ago at most; the default would be <= 60000.
    expect(lockTtl).toBeLessThanOrEqual(LOCK_MS);
    expect(lockTtl).toBeGreaterThan(LOCK_MS - 20_000);

    const stallTtl = await session.connection.pttl(`${prefix}:prepare:stalled-check`);
    expect(stallTtl).toBeLessThanOrEqual(STALLED_MS);
    expect(stallTtl).toBeGreaterThan(DEFAULT_STALLED_INTERVAL_MS);
  }, 120_000);

  it.each(['run', 'ablate'])(
    'ipa %s refuses a --lock-ms or --stalled-ms that is not a positive integer (exit 2)',
    async (cmd) => {
      const errors: string[] = [];
      const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
      try {
        expect(await main([cmd, 'recipes/tiny.yaml', '--lock-ms', '0'])).toBe(2);
        expect(await main([cmd, 'recipes/tiny.yaml', '--stalled-ms', 'soon'])).toBe(2);
      } finally {
        spy.mockRestore();
      }
      expect(errors).toEqual([
        `ipa ${cmd}: --lock-ms must be an integer >= 1`,
        `ipa ${cmd}: --stalled-ms must be an integer >= 1`,
      ]);
    },
  );
});
