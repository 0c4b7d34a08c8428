import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_DIR, contractFiles } from '../../orchestrator/contract/generate.js';
import { METHODS, PROTOCOL_VERSION, WorkerMessageSchema } from '../../orchestrator/contract/protocol.js';

describe('workers/ipa_worker/contract', () => {
  it('equals the files generated from the zod schemas (run `npm run contract` after changing them)', () => {
    for (const [name, text] of Object.entries(contractFiles()))
      expect(readFileSync(join(CONTRACT_DIR, name), 'utf8'), name).toBe(text);
  });

  it('gives every stage output a template with the round and shard as format fields', () => {
    const paths = JSON.parse(contractFiles()['stage_paths.json']) as Record<string, Record<string, string>>;
    expect(paths.sample.responses).toBe('round-{round}/responses/shard-{shard:03d}.jsonl');
    expect(paths.train.policy).toBe('round-{round}/models/policy');
    expect(paths.advance).toBeUndefined();
  });

  it('gives Python the bridge protocol from the zod messages: version, methods, who sends what', () => {
    const spec = JSON.parse(contractFiles()['protocol.json']) as Record<string, unknown> & {
      messages: Record<string, { properties: Record<string, unknown> }>;
    };
    expect([spec.version, spec.methods, spec.from_worker, spec.from_orchestrator]).toEqual([
      PROTOCOL_VERSION,
      [...METHODS],
      ['ready', 'progress', 'log', 'result', 'error'],
      ['request', 'cancel'],
    ]);
    expect(spec.messages.error.properties.error).toMatchObject({
      properties: { type: { enum: ['BadInput', 'OutOfMemory', 'Cancelled', 'Internal'] } },
    });
    // The wire form: a ready message's missing package is null there, and zod accepts it.
    const ready = {
      v: 1,
      type: 'ready',
      pid: 1,
      versions: { python: '3.11.7', vllm: null },
      devices: [{ kind: 'cpu' }],
      backends: ['hf'],
    };
    expect(spec.messages.ready.properties.versions).toMatchObject({
      additionalProperties: { type: ['string', 'null'] },
    });
    expect(WorkerMessageSchema.parse(ready)).toMatchObject({ versions: { python: '3.11.7' } });
  });
});
