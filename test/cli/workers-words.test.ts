/** `ipa workers` says what each worker is in words: its devices by kind, never a raw JSON array. */
import { describe, expect, it } from 'vitest';
import type { WorkerInfo } from '../../orchestrator/agent/registry.js';
import { workerSummary } from '../../orchestrator/cli/commands/workers.js';

const base: WorkerInfo = {
  id: 'host-a.12.cpu',
  host: 'host-a',
  pid: 12,
  queues: ['prepare', 'sample'],
  gpu: null,
  concurrency: 1,
  devices: [{ kind: 'cpu' }],
  backends: ['hf'],
  versions: {},
  started_at: '2026-12-01T10:00:00.000Z',
  heartbeat_at: '2026-12-01T10:00:00.000Z',
  current: [],
};

describe('ipa workers in words', () => {
  it('names devices by kind, a pinned GPU by number, and the jobs running', () => {
    expect(workerSummary(base)).toBe('host-a.12.cpu  queues prepare,sample  cpu  slots 1  idle');
    expect(
      workerSummary({
        ...base,
        devices: [
          { kind: 'cuda', index: 0 },
          { kind: 'cuda', index: 1 },
        ],
        train_processes: 2,
      }),
    ).toBe('host-a.12.cpu  queues prepare,sample  cuda, cuda  training on 2 processes  slots 1  idle');
    expect(
      workerSummary({
        ...base,
        gpu: '3',
        current: [{ job_id: 'r.r1.sample.s000', stage: 'sample', run: 'r', round: 1, shard: 0, started_at: '' }],
      }),
    ).toBe('host-a.12.cpu  queues prepare,sample  gpu 3  slots 1  r.r1.sample.s000');
    expect(workerSummary({ ...base, devices: [] })).toContain('  cpu  ');
  });
});
