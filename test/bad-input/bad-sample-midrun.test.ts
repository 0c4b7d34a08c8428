/**
 * A sample that turns bad while its round runs fails alone: an image deleted after `prepare`
 * accepted it is named in the `sample` job's failed_items with the reason, the other seeds of
 * the shard still get responses, and the run completes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { harness, REPO, tinyRecipe, type Harness } from '../helpers/harness.js';

// A private copy of the synthetic data: this test deletes one of its images.
const DATA = join(REPO, '.cache', 'test-data', `midrun-${randomBytes(4).toString('hex')}`);

describe('a bad sample during a running round', () => {
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
    if (h) rmSync(dirname(h.runsDir), { recursive: true, force: true });
    rmSync(DATA, { recursive: true, force: true });
  });

  it('fails alone: named in failed_items, the run completes', async () => {
    h = await harness('midrun', tinyRecipe({ data: { synthetic: { output_dir: DATA } } }));
    await h.startAgent();
    const run = await h.submit();
    const prepareId = `${run.id}.r0.prepare.s000`;
    const deadline = Date.now() + 300_000;
    while (!run.doneIds().has(prepareId)) {
      if (Date.now() > deadline) throw new Error('prepare never finished');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seeds = readFileSync(run.abs('data/seeds.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const victim = seeds[0];
    unlinkSync(victim.images[0]);
    expect(existsSync(victim.images[0])).toBe(false);
    expect([...run.doneIds()].some((id) => id.includes('.r1.sample.'))).toBe(false); // deleted before any sample ran

    expect(await h.wait(run)).toBe('completed');
    const samples = run.doneRecords().filter((r) => r.stage === 'sample');
    const failed = samples.flatMap((r) => r.failed_items);
    expect(failed).toEqual([{ id: victim.id, reason: expect.stringMatching(/image file not found/) }]);
    const shard = samples.find((r) => r.failed_items.length)!;
    const responses = readFileSync(shard.outputs.responses.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(responses.some((x) => x.seed_id === victim.id)).toBe(false);
    expect(new Set(responses.map((x) => x.seed_id)).size).toBeGreaterThan(0);
  }, 900_000);
});
