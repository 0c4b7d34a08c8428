/**
 * What a Python `stage` request answers (docs/ARCHITECTURE.md, "Bridge protocol"):
 * `{outputs: {name: {path, rows, sha256}}, metrics, failed_items}`. The agent accepts a result
 * only through `parseStageResult`, so a malformed one fails its job with the field at fault.
 */
import { z } from 'zod';
import { AbsolutePathSchema } from '../plan/paths.js';
import { ContractError } from './contract-error.js';

export const StageOutputSchema = z.object({
  path: AbsolutePathSchema,
  rows: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256'),
});

export const StageResultSchema = z.object({
  outputs: z.record(z.string(), StageOutputSchema),
  metrics: z.record(z.string(), z.unknown()).default({}),
  failed_items: z
    .array(z.object({ id: z.string(), reason: z.string() }))
    .default([])
    .describe('Items skipped without failing the job.'),
});

export type StageResult = z.output<typeof StageResultSchema>;
export type StageOutput = z.output<typeof StageOutputSchema>;

/** The result of job `jobId` with its defaults filled, or a `ContractError` naming every bad field. */
export function parseStageResult(raw: unknown, jobId: string): StageResult {
  const parsed = StageResultSchema.safeParse(raw);
  if (!parsed.success) throw ContractError.fromZod(`stage result of ${jobId}`, parsed.error);
  return parsed.data;
}
