import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../orchestrator/agent/failures.js';
import { ExitCode, IpaError } from '../../orchestrator/errors.js';
import { RunStore } from '../../orchestrator/store/run-store.js';

describe('what a failed try means', () => {
  const ctx = () => {
    const store = new RunStore(mkdtempSync(join(tmpdir(), 'ipa-fail-')));
    const job = { id: 'j' } as unknown as Job;
    return {
      job,
      data: { runId: 'r', runDir: store.dir, round: 1, stage: 'advance' as const, shard: 0 },
      store,
      log: pino({ level: 'silent' }),
      onProcessLost: () => undefined,
    };
  };

  it('bad input found in Node fails for good (an oversized round cannot succeed on a retry); other errors are retried', async () => {
    const c = ctx();
    const bad = await classifyFailure(new IpaError('round 2 would have 200001 shards', ExitCode.invalidInput), c);
    expect(bad).toBeInstanceOf(UnrecoverableError);
    expect(bad.message).toBe('bad input: round 2 would have 200001 shards');
    expect(readFileSync(c.store.logPath('j'), 'utf8')).toContain('BadInput: round 2 would have 200001 shards');
    const transient = await classifyFailure(new Error('Connection is closed.'), c);
    expect(transient).not.toBeInstanceOf(UnrecoverableError);
    expect(await classifyFailure(new IpaError('something else failed'), c)).not.toBeInstanceOf(UnrecoverableError);
  });
});
