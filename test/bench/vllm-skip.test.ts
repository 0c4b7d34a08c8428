/**
 * The vLLM benchmark without the optional vLLM environment: no rows, and a line (in the log and
 * in results.md) saying how to get the environment. The rows themselves need .venv-vllm and a
 * multi-minute engine start, so they run in `make bench` only.
 */
import { describe, expect, it } from 'vitest';
import { markdown } from '../../bench/lib/report.js';
import type { Machine } from '../../bench/lib/types.js';

describe('bench vllm without .venv-vllm', () => {
  it('is skipped with a line that names scripts/setup-vllm.sh', async () => {
    process.env.IPA_VLLM_PYTHON = '/nonexistent/.venv-vllm/bin/python';
    const { vllm } = await import('../../bench/vllm.js');
    const logs: string[] = [];
    const r = await vllm.run({ quick: true, reps: 1, redisUrl: 'redis://unused', log: (m) => logs.push(m) });
    expect(r.name).toBe('vllm');
    expect(r.rows).toEqual([]);
    expect(r.notes[0]).toMatch(/^skipped: .*\.venv-vllm.* scripts\/setup-vllm\.sh/);
    expect(logs.join('\n')).toContain('scripts/setup-vllm.sh');
    const machine: Machine = {
      cpu: 'cpu',
      cores: 2,
      load_average: [0, 0, 0],
      memory_gib: 1,
      node: 'v20',
      python: '3.11',
      torch: '-',
      transformers: '-',
      trl: '-',
      bullmq: '-',
      redis: '-',
      os: 'linux',
    };
    const md = markdown({ started_at: 'now', seconds: 1, quick: true, machine, benchmarks: [r] });
    expect(md).toContain(`- ${r.notes[0]}`);
  });
});
