/**
 * Signatures a Redis writer cannot forge. Where runs are shared between hosts, every host holds
 * the same secret in a file outside Redis (`IPA_SECRET_FILE`); `ipa submit`/`resume` sign each
 * run's registry entry and each job they queue with an HMAC-SHA256 under it, and an agent that
 * has the secret refuses anything unsigned or signed wrongly. Without a secret nothing is signed
 * and agents rely on their run roots alone (docs/reliability.md, "Threat model").
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { IpaError, ExitCode } from '../errors.js';
import type { JobDescriptor } from '../plan/stages.js';

export class JobSigner {
  private constructor(private readonly key: Buffer) {}

  static fromSecret(secret: string | Buffer): JobSigner {
    const key = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (key.length < 16)
      throw new IpaError(
        'the queue secret is too short: use at least 16 bytes (e.g. `openssl rand -hex 32 > FILE`)',
        ExitCode.usage,
      );
    return new JobSigner(key);
  }

  /**
   * The signer of `$IPA_SECRET_FILE`, or undefined when it is not set. The file must be readable
   * by its owner only: a secret others can read signs nothing.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): JobSigner | undefined {
    const file = env.IPA_SECRET_FILE;
    if (!file) return undefined;
    let mode: number;
    let text: string;
    try {
      mode = statSync(file).mode;
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new IpaError(
        `IPA_SECRET_FILE=${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? err}); create it with \`openssl rand -hex 32 > ${file} && chmod 600 ${file}\``,
        ExitCode.usage,
      );
    }
    if (mode & 0o077)
      throw new IpaError(
        `IPA_SECRET_FILE=${file} is readable by others (mode ${(mode & 0o777).toString(8)}); \`chmod 600 ${file}\``,
        ExitCode.usage,
      );
    return JobSigner.fromSecret(text);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text, 'utf8').digest('hex');
  }

  private same(a: string, b: unknown): boolean {
    if (typeof b !== 'string' || b.length !== a.length) return false;
    return timingSafeEqual(Buffer.from(a), Buffer.from(b));
  }

  /** Over the job's coordinates; the batch fraction is left out (an OOM retry rewrites it, and it only shrinks work). */
  signJob(id: string, d: JobDescriptor): string {
    return this.mac(['job', id, d.runId, d.runDir, d.round, d.stage, d.shard].join('\n'));
  }

  verifyJob(id: string, d: JobDescriptor, sig: unknown): boolean {
    return this.same(this.signJob(id, d), sig);
  }

  /** Over one registry entry: the run, its directory and the queue prefix it was registered under. */
  signRun(prefix: string, runId: string, dir: string): string {
    return this.mac(['run', prefix, runId, dir].join('\n'));
  }

  verifyRun(prefix: string, runId: string, dir: string, sig: unknown): boolean {
    return this.same(this.signRun(prefix, runId, dir), sig);
  }
}
