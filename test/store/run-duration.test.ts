/**
 * One definition of a run's time, whoever shows it: from its creation to the moment it ended
 * (pauses included), or to now while it goes on. `ipa run`'s last line and `ipa status`'s header
 * agree, also for a run interrupted and continued later.
 */
import { describe, expect, it } from 'vitest';
import { outcomeLine } from '../../orchestrator/cli/drive-run.js';
import { statusHeader } from '../../orchestrator/cli/render.js';
import { runDurationMs, runSpan } from '../../orchestrator/store/run-duration.js';
import { manifest } from '../helpers/manifest.js';

const created = '2026-12-01T10:00:00.000Z';
const ended = '2026-12-01T11:52:10.000Z'; // continued after an interruption, ended 1 h 52 min after creation

describe("a run's duration", () => {
  it('runs from creation to the end, or to now while the run goes on', () => {
    const now = Date.parse('2026-12-01T10:05:00.000Z');
    expect(runSpan({ state: 'running', created_at: created, updated_at: created })).toEqual({
      from: created,
      to: null,
    });
    expect(runDurationMs({ state: 'running', created_at: created, updated_at: created }, now)).toBe(300_000);
    expect(
      runDurationMs({ state: 'interrupted', created_at: created, updated_at: '2026-12-01T10:01:00.000Z' }, now),
    ).toBe(60_000);
    expect(runDurationMs({ state: 'completed', created_at: created, updated_at: ended }, now)).toBe(
      112 * 60_000 + 10_000,
    );
  });

  it('`ipa run` ends with the same time as `ipa status` shows, not the time of its own session', () => {
    const info = { state: 'completed' as const, created_at: created, updated_at: ended };
    expect(outcomeLine('r1', 'completed', info)).toBe('run r1: completed in 1h52m');
    const m = manifest([{ round: 0, stages: [] }], 'completed', 'r1');
    m.run = { ...m.run, ...info };
    expect(statusHeader(m, Date.now())).toContain('took 1h52m');
  });
});
