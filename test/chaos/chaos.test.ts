/**
 * The reduced chaos run (scripts/chaos.ts --reduced): one fault of each kind (agent kill -9,
 * Python kill -9, hard Redis restart, FLUSHALL + `ipa resume`, a worker agent joining late, a
 * stage file truncated) during a 1-round, 4-shard tiny run; the pairs must equal an undisturbed
 * run's row for row, no shard may be lost or counted twice, and a truncated output must be found
 * and recomputed, never used.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos.js';
import { FAULT_KINDS } from '../../scripts/chaos/schedule.js';

describe('chaos (reduced)', () => {
  it('survives every kind of fault without losing or duplicating a pair', async () => {
    const r = await runChaos({ seed: 7, faults: FAULT_KINDS.length, reduced: true });
    expect(r.problems).toEqual([]);
    expect(r.faults_injected).toEqual(Object.fromEntries(FAULT_KINDS.map((k) => [k, 1])));
    expect(r.faults_survived).toBe(FAULT_KINDS.length);
    expect(r.chaos_state).toBe('completed');
    expect(r.pairs_expected).toBeGreaterThan(0);
    expect(r.pairs_lost).toBe(0);
    expect(r.pairs_equal).toBe(true);
    expect(r.pairs_equal_rows).toBe(r.pairs_expected);
    expect(r.missing_done_records).toEqual([]);
    expect(r.unexpected_done_records).toEqual([]);
    expect(r.duplicate_pair_rows).toBe(0);
    expect(r.shard_row_mismatches).toEqual([]);
    // The finished output cut in half was found (by a job's input check or `ipa verify`) and recomputed.
    const cut = r.truncations.filter((t) => t.done_record);
    expect(cut.length).toBe(1);
    expect(r.repairs.flatMap((x) => x.damaged).length).toBeGreaterThan(0);
    expect(r.final_verify_ok).toBe(true);
    // The late joiner is one more agent than the one the run started with (plus the killed one's replacement).
    expect(r.agents_started).toBeGreaterThanOrEqual(3);
    // A killed try leaves a second attempt line on at least one job.
    expect(r.shards_recomputed).toBeGreaterThan(0);
  }, 900_000);
});
