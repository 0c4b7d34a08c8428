import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_DOC, renderMemoryTable, withMemoryTable } from '../../orchestrator/report/memory-table.js';

describe('docs/deployment.md memory table', () => {
  it('equals the plan computed for the 7B recipe (run `npm run docs:memory` after changing the plan or the recipe)', () => {
    const doc = readFileSync(DEPLOYMENT_DOC, 'utf8');
    expect(withMemoryTable(doc)).toBe(doc);
  });

  it('has a row per worker kind on each card, every one of which fits', () => {
    const rows = renderMemoryTable()
      .split('\n')
      .filter((l) => l.startsWith('| a'));
    expect(rows.map((r) => r.split(' | ').slice(0, 2).join(' | '))).toEqual([
      '| an 80 GB card (H100) | generation, `generation.backend: vllm`',
      '| an 80 GB card (H100) | generation, `generation.backend: hf`',
      '| an 80 GB card (H100) | train (LoRA DPO, one process)',
      '| a 141 GB card (H200) | generation, `generation.backend: vllm`',
      '| a 141 GB card (H200) | generation, `generation.backend: hf`',
      '| a 141 GB card (H200) | train (LoRA DPO, one process)',
    ]);
    expect(rows.every((r) => / \| yes( \(|$| \|)/.test(r))).toBe(true);
  });
});
