/**
 * A sample that turns bad while its round runs fails alone: an image deleted after `prepare`
 * accepted it, or replaced by one the Qwen2-VL processor refuses (4000x10: issue 14, finding 5),
 * is named in the `sample` job's failed_items with the reason, the other seeds of the shard still
 * get responses, a held-out item with such an image fails alone in `eval`, and the run completes
 * without a retry and without a traceback in the agent's own log lines (they go to the job logs).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
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
    const agentLog: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (agentLog.push(String(chunk)), done()) });
    await h.startAgent({ logger: pino({ level: 'info' }, sink) });
    const run = await h.submit();
    const prepareId = `${run.id}.r0.prepare.s000`;
    const deadline = Date.now() + 300_000;
    while (!run.doneIds().has(prepareId)) {
      if (Date.now() > deadline) throw new Error('prepare never finished');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seeds = readFileSync(run.abs('data/seeds.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const victim = seeds[0];
    unlinkSync(victim.images[0]);
    expect(existsSync(victim.images[0])).toBe(false);
    const WIDE = join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'wide-4000x10.png');
    const odd = seeds[1];
    copyFileSync(WIDE, odd.images[0]);
    const heldout = readFileSync(join(DATA, 'heldout.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))[0];
    copyFileSync(WIDE, join(DATA, heldout.images[0]));
    expect([...run.doneIds()].some((id) => id.includes('.r1.sample.'))).toBe(false); // deleted before any sample ran

    expect(await h.wait(run)).toBe('completed');
    const samples = run.doneRecords().filter((r) => r.stage === 'sample');
    const failed = samples.flatMap((r) => r.failed_items);
    expect(failed).toEqual([
      { id: victim.id, reason: expect.stringMatching(/image file not found/) },
      {
        id: odd.id,
        reason: `${odd.images[0]}: aspect ratio 400:1 (4000x10) is over the Qwen2-VL processor's limit of 200:1`,
      },
    ]);
    for (const shard of samples.filter((r) => r.failed_items.length)) {
      const responses = readFileSync(shard.outputs.responses.path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(responses.some((x) => x.seed_id === victim.id || x.seed_id === odd.id)).toBe(false);
      expect(new Set(responses.map((x) => x.seed_id)).size).toBeGreaterThan(0);
    }
    // Every job ran once: nothing deterministic was retried.
    expect([...run.allAttempts().values()].every((n) => n === 1)).toBe(true);
    const evalRound1 = run.doneRecords().find((r) => r.stage === 'eval' && r.round === 1)!;
    expect(evalRound1.failed_items).toEqual([
      { id: `synthetic/${heldout.id}`, reason: expect.stringMatching(/aspect ratio 400:1 \(4000x10\)/) },
    ]);
    expect(agentLog.join('')).not.toMatch(/Traceback/);
  }, 900_000);
});
