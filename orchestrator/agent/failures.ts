/**
 * What a failed try means for its job and its run. A try that may succeed again is retried by
 * BullMQ (a plain Error: crashes, lost processes, out of memory with half the batch); one that
 * cannot is an UnrecoverableError (bad input, a cancelled run, a message that breaks the bridge
 * contract). A job that fails for good fails its run.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { PythonError, PythonProcessExited } from '../bridge/python-process.js';
import { ContractError } from '../contract/contract-error.js';
import { ExitCode, IpaError } from '../errors.js';
import type { Logger } from '../log.js';
import { IntegrityError } from '../store/integrity.js';
import type { JobDescriptor } from '../plan/stages.js';
import type { RunStore } from '../store/run-store.js';

/** A job's coordinates plus the batch fraction of its next try (halved after each OOM). */
export type AgentJobData = JobDescriptor & { batchScale?: number };

export interface FailureContext {
  job: Job;
  data: AgentJobData;
  store: RunStore;
  log: Logger;
  /** Called when the job's Python process died, so its slot starts a new one. */
  onProcessLost: () => void;
}

/** Maps a failed try to what BullMQ should do: retry (plain Error) or give up (UnrecoverableError). */
export async function classifyFailure(err: unknown, ctx: FailureContext): Promise<Error> {
  const { job, data, store, log } = ctx;
  if (err instanceof IntegrityError) {
    log.error({ err: err.message }, 'an input does not match its done record: the job fails for good');
    store.appendLog(job.id ?? '', `IntegrityError: ${err.message}`);
    return new UnrecoverableError(err.message);
  }
  if (err instanceof ContractError) {
    log.error({ err: err.message }, 'contract violation: the job fails for good');
    store.appendLog(job.id ?? '', `ContractError: ${err.message}`);
    return new UnrecoverableError(err.message);
  }
  // Bad input found in Node (an oversized round, a damaged run file): the same input fails the same way again.
  if (err instanceof IpaError && err.exitCode === ExitCode.invalidInput) {
    log.error({ err: err.message }, 'bad input: the job fails for good');
    store.appendLog(job.id ?? '', `BadInput: ${err.message}`);
    return new UnrecoverableError(`bad input: ${err.message}`);
  }
  // Tracebacks and stderr go to the job's log only (logs/<job-id>.log): the agent's own lines
  // reach a terminal, and one failure must not print a traceback there once per try.
  if (err instanceof PythonProcessExited) {
    log.warn(
      { code: err.code, signal: err.signal, log: store.logPath(job.id ?? '') },
      `the Python process died (exit code ${err.code}, signal ${err.signal}): the job will be retried`,
    );
    ctx.onProcessLost();
    if (store.info().state === 'cancelled') return new UnrecoverableError('run cancelled');
    return new Error(`python process exited (code ${err.code}, signal ${err.signal})`);
  }
  if (err instanceof PythonError) {
    log.warn(
      { type: err.type, message: err.message, log: store.logPath(job.id ?? '') },
      `failed with ${err.type} (traceback: ipa logs ${data.runId} --round ${data.round} --stage ${data.stage})`,
    );
    store.appendLog(job.id ?? '', `${err.type}: ${err.message}\n${err.traceback ?? ''}`);
    if (err.type === 'BadInput') return new UnrecoverableError(`bad input: ${err.message}`);
    if (err.type === 'Cancelled') return new UnrecoverableError('cancelled');
    if (err.type === 'OutOfMemory') {
      const batchScale = (data.batchScale ?? 1) / 2;
      await job.updateData({ ...data, batchScale });
      log.warn({ batch_scale: batchScale }, `out of memory: retrying with half the batch (batch × ${batchScale})`);
      return new Error(`out of memory; retrying with batch_scale ${batchScale}`);
    }
    return new Error(`${err.type}: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Whether BullMQ will not try the job again: unrecoverable, or out of attempts (a delay is no failure). */
export function isFinalFailure(job: Job, err: Error): boolean {
  if (err instanceof DelayedError || err.name === 'DelayedError') return false;
  return (
    err instanceof UnrecoverableError ||
    err.name === 'UnrecoverableError' ||
    job.attemptsMade >= (job.opts.attempts ?? 1)
  );
}

/**
 * The run of a job that failed for good fails too (a failed child also fails its round's flow),
 * unless it was cancelled. Returns whether the run was marked failed.
 */
export function failRunOf(job: Job, err: Error, store: RunStore): boolean {
  if (!isFinalFailure(job, err) || store.info().state === 'cancelled') return false;
  store.setState('failed', { error: failureMessage(job.id ?? '', err.message, store.logPath(job.id ?? '')) });
  return true;
}

/** What failed and where its log is: the run's final message (run.json `error`). */
export function failureMessage(jobId: string, message: string, logPath: string): string {
  return `${jobId}: ${message} (log: ${logPath})`;
}
