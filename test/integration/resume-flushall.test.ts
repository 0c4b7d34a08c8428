/**
 * Resume from the run directory alone: a multi-shard run loses all of Redis (FLUSHALL) mid-way,
 * `ipa resume` rebuilds the queue, and the final pairs equal an undisturbed run's with the same
 * seed; no shard finished before the wipe is computed again (attempt counters stay at 1).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../orchestrator/cli/main.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { canonicalPairs } from '../helpers/pairs.js';
import { redisUrl } from '../helpers/redis.js';

const recipe = tinyRecipe({ data: { synthetic: { train_size: 12 }, shard_size: 3 } });

describe('resume after Redis lost everything', () => {
  const hs: Harness[] = [];
  afterAll(async () => {
    for (const h of hs) await h.close();
  });

  it('finishes with the same pairs as an undisturbed run and recomputes no finished shard', async () => {
    const a = await harness('undisturbed', recipe);
    hs.push(a);
    await a.startAgent();
    const ref = await a.submit();
    expect(await a.wait(ref)).toBe('completed');
    await Promise.all(a.agents.map((x) => x.close(2000)));
    a.agents.length = 0;
    const expected = canonicalPairs(ref);
    expect(expected.length).toBeGreaterThan(0);

    const b = await harness('flushed', recipe);
    hs.push(b);
    await b.startAgent();
    const run = await b.submit();
    // Wait until the round is part-way: some shard paired, the round not trained yet.
    const deadline = Date.now() + 600_000;
    let doneAtWipe = new Set<string>();
    for (;;) {
      const done = run.doneIds();
      if ([...done].some((id) => id.includes('.r1.pair.'))) {
        await b.queues.connection.flushall();
        doneAtWipe = run.doneIds();
        break;
      }
      if (Date.now() > deadline) throw new Error('run never reached round 1 pairing');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect([...doneAtWipe].some((id) => id.includes('.r1.train.'))).toBe(false);

    const code = await main(['resume', run.dir, '--redis-url', redisUrl(), '--prefix', b.prefix]);
    expect(code).toBe(0);
    expect(await b.wait(run)).toBe('completed');

    expect(canonicalPairs(run)).toEqual(expected);
    for (const id of doneAtWipe) expect({ id, attempts: run.attempts(id) }).toEqual({ id, attempts: 1 });
  }, 1_200_000);
});
