/**
 * Bridge protocol, version 1 (docs/ARCHITECTURE.md, "Bridge protocol"): the messages exchanged
 * with `python -m ipa_worker serve`, one JSON object per line, as zod schemas and types. The one
 * source of the protocol: `npm run contract` writes it for Python as
 * workers/ipa_worker/contract/protocol.json (`protocolSpec` in json-schema.ts), which the worker
 * reads its version, line limit, methods, error types and log levels from and checks messages with.
 */
import { z } from 'zod';

/** The protocol version both sides put in `v`. */
export const PROTOCOL_VERSION = 1;

/**
 * The longest line either side reads: the Python worker skips longer ones unread, so a request
 * that long is refused here instead of never answered.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

const v = z.literal(PROTOCOL_VERSION);

/** Request ids: Node sends integers; Python echoes whatever it got. */
export const RequestIdSchema = z.union([z.number().int(), z.string().min(1)]);
export type RequestId = z.infer<typeof RequestIdSchema>;

export const DeviceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cpu') }),
  z.object({
    kind: z.literal('cuda'),
    index: z.number().int().min(0),
    name: z.string(),
    memory_bytes: z.number().int().min(0),
  }),
]);
export type Device = z.infer<typeof DeviceSchema>;

export const BackendSchema = z.enum(['hf', 'vllm']);
export type Backend = z.infer<typeof BackendSchema>;

export const ErrorTypeSchema = z.enum(['BadInput', 'OutOfMemory', 'Cancelled', 'Internal']);
export type ErrorType = z.infer<typeof ErrorTypeSchema>;

export const LogLevelSchema = z.enum(['debug', 'info', 'warning', 'error', 'critical']);
export type LogLevel = z.infer<typeof LogLevelSchema>;

// Python → Node

export const ReadyMessageSchema = z.object({
  v,
  type: z.literal('ready'),
  pid: z.number().int(),
  /** python, torch, transformers, trl, peft; a package that is not installed (null on the wire) is left out. */
  versions: z
    .object({ python: z.string() })
    .catchall(z.string().nullable())
    .transform((all) => Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null))),
  devices: z.array(DeviceSchema),
  /** `hf`, plus `vllm` when installed; kept open so a newer worker's backend does not break start-up. */
  backends: z.array(z.string()),
});
export type ReadyMessage = z.infer<typeof ReadyMessageSchema>;

export const ProgressMessageSchema = z.object({
  v,
  type: z.literal('progress'),
  id: RequestIdSchema,
  done: z.number(),
  total: z.number(),
  metrics: z.record(z.string(), z.unknown()),
});
export type ProgressMessage = z.infer<typeof ProgressMessageSchema>;

export const LogMessageSchema = z.object({
  v,
  type: z.literal('log'),
  id: RequestIdSchema.nullable(),
  level: LogLevelSchema,
  msg: z.string(),
  fields: z.record(z.string(), z.unknown()),
});
export type LogMessage = z.infer<typeof LogMessageSchema>;

export const ResultMessageSchema = z.object({
  v,
  type: z.literal('result'),
  id: RequestIdSchema,
  result: z.unknown(),
});
export type ResultMessage = z.infer<typeof ResultMessageSchema>;

export const ErrorMessageSchema = z.object({
  v,
  type: z.literal('error'),
  id: RequestIdSchema,
  error: z.object({ type: ErrorTypeSchema, message: z.string(), traceback: z.string() }),
});
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;

export const WorkerMessageSchema = z.discriminatedUnion('type', [
  ReadyMessageSchema,
  ProgressMessageSchema,
  LogMessageSchema,
  ResultMessageSchema,
  ErrorMessageSchema,
]);
/** Any message the Python process sends. */
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;

// Node → Python

/** Methods every worker serves; test builds (IPA_WORKER_TEST_METHODS=1) add `sleep`, `crash`, `pollute`. */
export const METHODS = ['configure', 'stage', 'ping', 'echo', 'shutdown'] as const;
export type Method = (typeof METHODS)[number];

export const RequestMessageSchema = z.object({
  v,
  type: z.literal('request'),
  id: RequestIdSchema,
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
});
export type RequestMessage = z.infer<typeof RequestMessageSchema>;

export const CancelMessageSchema = z.object({ v, type: z.literal('cancel'), id: RequestIdSchema });
export type CancelMessage = z.infer<typeof CancelMessageSchema>;

export const OrchestratorMessageSchema = z.discriminatedUnion('type', [RequestMessageSchema, CancelMessageSchema]);
/** Any message Node sends. */
export type OrchestratorMessage = z.infer<typeof OrchestratorMessageSchema>;

/** A progress update as handed to `onProgress` callbacks. */
export type Progress = Pick<ProgressMessage, 'done' | 'total' | 'metrics'>;
/** A log line as handed to `onLog` callbacks and `log` events. */
export type LogEntry = Pick<LogMessage, 'id' | 'level' | 'msg' | 'fields'>;
