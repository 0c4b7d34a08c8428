/**
 * The runs registry on Redis: which runs were submitted under a queue prefix, and where their
 * directories are (`<prefix>:ipa:runs`, run id → entry). An entry is the directory, or with a
 * queue secret `{"dir", "sig"}` (job-signer.ts). Redis is writable by whoever holds its URL, so an
 * agent treats an entry as a claim to check (agent/job-trust.ts), never as proof.
 */
import type { Redis } from 'ioredis';
import type { JobSigner } from './job-signer.js';
import { keys, type QueueSet } from './queues.js';

export interface Registration {
  dir: string;
  sig?: string;
}

export async function registerOnQueue(queues: QueueSet, runId: string, dir: string): Promise<void> {
  const signer = queues.signer;
  const value = signer ? JSON.stringify({ dir, sig: signer.signRun(queues.prefix, runId, dir) }) : dir;
  await queues.connection.hset(keys.runs(queues.prefix), runId, value);
}

/** The entry of `runId`, or undefined when there is none (a JSON entry that does not parse counts as none). */
export function parseRegistration(value: string | null): Registration | undefined {
  if (!value) return undefined;
  if (!value.startsWith('{')) return { dir: value };
  try {
    const v = JSON.parse(value) as Partial<Registration>;
    return typeof v.dir === 'string' ? { dir: v.dir, sig: typeof v.sig === 'string' ? v.sig : undefined } : undefined;
  } catch {
    return undefined;
  }
}

export async function readRegistration(redis: Redis, prefix: string, runId: string): Promise<Registration | undefined> {
  return parseRegistration(await redis.hget(keys.runs(prefix), runId));
}

/** Whether the entry carries a valid signature under `signer`. */
export function registrationSigned(signer: JobSigner, prefix: string, runId: string, r: Registration): boolean {
  return signer.verifyRun(prefix, runId, r.dir, r.sig);
}
