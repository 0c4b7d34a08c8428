import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_DIR, contractFiles } from '../../orchestrator/contract/generate.js';

describe('workers/ipa_worker/contract', () => {
  it('equals the files generated from the zod schemas (run `npm run contract` after changing them)', () => {
    for (const [name, text] of Object.entries(contractFiles())) expect(readFileSync(join(CONTRACT_DIR, name), 'utf8'), name).toBe(text);
  });

  it('gives every stage output a template with the round and shard as format fields', () => {
    const paths = JSON.parse(contractFiles()['stage_paths.json']) as Record<string, Record<string, string>>;
    expect(paths.sample.responses).toBe('round-{round}/responses/shard-{shard:03d}.jsonl');
    expect(paths.train.policy).toBe('round-{round}/models/policy');
    expect(paths.advance).toBeUndefined();
  });
});
