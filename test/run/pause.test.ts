import { describe, expect, it } from 'vitest';
import { pauseRun } from '../../orchestrator/run/pause.js';
import { scratchRun } from '../helpers/scratch-run.js';

describe('pause', () => {
  it('pauses a queued or running run, and refuses a finished one with a clear message', () => {
    const s = scratchRun('pause-run');
    pauseRun(s);
    expect(s.info().state).toBe('paused');
    s.setState('completed');
    expect(() => pauseRun(s)).toThrow('run pause-run is completed; only queued or running runs can be paused');
  });
});
