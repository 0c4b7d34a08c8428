/**
 * A job whose inputs are set aside while it runs (a repair, `ipa resume` after a FLUSHALL, moved a
 * predecessor's done record away) drops its result: no done record, nothing queued after it. Found
 * by the reduced chaos run, where such a job completed a run without its train record; this is the
 * direct test. Real agent and Redis, the fake worker with a slow verify stage.
 */
import { renameSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ORCHESTRATOR_LOG } from '../../orchestrator/log-sink.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { readJsonl } from '../../orchestrator/store/atomic.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { attemptLines, waitFor } from '../integration/faults-support.js';

describe('a result whose inputs were set aside while it ran', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('is dropped: no done record, nothing queued after it, and the agent says why', async () => {
    h = await harness('staleresult', tinyRecipe({ eval: { after: 'none' } }));
    const fake = fakeWorker({ seeds: 12, stageMs: 8000 });
    const agent = await h.startAgent({ ...fake, pythonEnv: { ...fake.pythonEnv, FAKE_SLOW_STAGE: 'verify' } });
    const store = await h.submit();
    const at = (stage: 'sample' | 'verify' | 'revise') => jobId({ runId: store.id, round: 1, stage, shard: 0 });
    await waitFor('verify of shard 0 to start', () => attemptLines(store, at('verify')).length > 0, 120_000, 50);

    // What a repair does to a damaged record: moved aside while the job that reads it runs.
    const record = store.abs(`jobs/${at('sample')}.json`);
    renameSync(record, `${record}.aside`);
    await waitFor(
      'the verify attempt to be over',
      async () => ((await h!.queues.queue('verify').getJob(at('verify')))?.finishedOn ? true : undefined),
      60_000,
      100,
    );

    expect(store.hasRecord(at('verify'))).toBe(false);
    expect(await h.queues.queue('revise').getJob(at('revise'))).toBeUndefined();
    // Said in the run's own log, with its reason.
    const said = await waitFor(
      'the warning in the run log',
      () =>
        readJsonl(store.abs(ORCHESTRATOR_LOG)).find((l) => l.event === 'stale_result' && l.job === at('verify')) as
          { msg: string } | undefined,
      10_000,
      100,
    );
    expect(said.msg).toBe(
      `round 1 · verify · shard 0: its inputs were set aside while it ran (round 1 · sample · shard 0 is no longer done): its result is dropped, not recorded`,
    );
    expect(agent.jobsDone).toBeGreaterThan(0);
  }, 240_000);
});
