/**
 * A message crossing the bridge does not match its schema: a bug on one side, never fixed by
 * trying again, so the agent fails the job for good with this message.
 */
import type { z } from 'zod';
import { IpaError } from '../errors.js';
import { formatPath } from '../recipe/errors.js';

export class ContractError extends IpaError {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }

  /** `<what> is malformed: outputs.seeds.sha256: a lowercase hex SHA-256; ...` */
  static fromZod(what: string, error: z.ZodError): ContractError {
    const problems = error.issues.map((i) => `${formatPath(i.path) || '(the whole message)'}: ${i.message}`);
    return new ContractError(`${what} is malformed: ${problems.join('; ')}`);
  }
}
