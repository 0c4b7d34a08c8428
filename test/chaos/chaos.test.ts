/**
 * The reduced chaos run (scripts/chaos.ts --reduced): one agent kill, one Python kill, one hard
 * Redis restart and one FLUSHALL + `ipa resume` during a 1-round, 4-shard tiny run; the pairs
 * must equal an undisturbed run's and no shard may be lost or counted twice.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos.js';

describe('chaos (reduced)', () => {
  it('survives every kind of fault without losing or duplicating a pair', async () => {
    const r = await runChaos({ seed: 7, kills: 2, reduced: true });
    expect(r.problems).toEqual([]);
    expect(r.faults_injected).toEqual({ 'agent-kill': 1, 'python-kill': 1, 'redis-restart': 1, flushall: 1 });
    expect(r.faults_survived).toBe(4);
    expect(r.chaos_state).toBe('completed');
    expect(r.pairs_expected).toBeGreaterThan(0);
    expect(r.pairs_lost).toBe(0);
    expect(r.pairs_equal).toBe(true);
    expect(r.missing_done_records).toEqual([]);
    expect(r.unexpected_done_records).toEqual([]);
    expect(r.duplicate_pair_rows).toBe(0);
    expect(r.shard_row_mismatches).toEqual([]);
    // A killed try leaves a second attempt line on at least one job.
    expect(r.shards_recomputed).toBeGreaterThan(0);
  }, 900_000);
});
