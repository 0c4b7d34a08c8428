/**
 * A training job that spans nodes is a queue concept. Train workers started with the same
 * `--nodes N` (one per node) share every train and sft job: the one that takes the job from
 * BullMQ leads its group — it serves the c10d rendezvous of the try and posts one call per node
 * it still needs in Redis — and idle train workers on the other nodes take a call each and join
 * (torch's elastic launcher meets them all at the rendezvous). The job stays the leader's in
 * BullMQ; the done record is written once, by the agent whose node ran global rank 0.
 *
 * Taking an open call and posting one's own are one atomic step (`leadOrFollow`): a worker that
 * takes a job while another group still waits for nodes joins that group first, so two leaders
 * never wait for each other. A node that fails tells the leader its error kind (out of memory,
 * bad input), so the leader's retry halves the batch or gives up like a one-node job would.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ErrorType } from '../contract/protocol.js';
import type { QueueKind } from '../plan/stages.js';

/** One node wanted by a group: what a joining worker needs to find the job and the rendezvous. */
export interface GroupCall {
  job_id: string;
  queue: QueueKind;
  /** The leader's try: the joining node builds the same payload (its logs go under the same attempt). */
  attempt: number;
  batch_scale: number;
  nnodes: number;
  /** host:port of the leader's rendezvous store. */
  endpoint: string;
  /** The rendezvous id: one per try. */
  group_id: string;
  /** The leading agent's id. */
  leader: string;
  /** Epoch ms after which no node joins (the leader's rendezvous has given up by then). */
  expires_at: number;
}

/** What a joining node's failed try says, for the leader's error. */
export interface NodeFailure {
  type: ErrorType;
  message: string;
  worker: string;
}

/** Failure reports outlive the try by this long, then Redis drops them. */
const FAILURE_TTL_S = 3600;

// KEYS[1]: the open calls of groups of this size. ARGV: the call to post, how many, now (ms).
// Expired calls are dropped; an open call is taken (the caller follows it) or, when there is
// none, the caller's calls are posted (it leads).
const LEAD_OR_FOLLOW = `
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local ok, call = pcall(cjson.decode, head)
  if ok and tonumber(call.expires_at) > tonumber(ARGV[3]) then break end
  redis.call('LPOP', KEYS[1])
end
local open = redis.call('LPOP', KEYS[1])
if open then return open end
for i = 1, tonumber(ARGV[2]) do redis.call('RPUSH', KEYS[1], ARGV[1]) end
return false
`;

export const groupKeys = {
  calls: (prefix: string, nnodes: number) => `${prefix}:ipa:train-group:calls:${nnodes}`,
  failures: (prefix: string, group: string) => `${prefix}:ipa:train-group:failures:${group}`,
};

/** A fresh rendezvous id for a try of `jobId`. */
export function groupId(jobId: string, attempt: number): string {
  return `${jobId}.a${attempt}.${randomBytes(3).toString('hex')}`;
}

function parseCall(raw: string | null | undefined): GroupCall | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as GroupCall;
  } catch {
    return undefined;
  }
}

export class TrainGroups {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Takes an open call of another group (returned: join it first), or posts `call`'s nnodes-1 calls (undefined: lead). */
  async leadOrFollow(call: GroupCall, now = Date.now()): Promise<GroupCall | undefined> {
    const raw = (await this.redis.eval(
      LEAD_OR_FOLLOW,
      1,
      groupKeys.calls(this.prefix, call.nnodes),
      JSON.stringify(call),
      call.nnodes - 1,
      now,
    )) as string | null;
    return parseCall(raw);
  }

  /** Waits up to `timeoutS` on `conn` (a connection of its own: it blocks) for a call of a group of `nnodes` nodes. */
  async take(conn: Redis, nnodes: number, timeoutS: number, now = () => Date.now()): Promise<GroupCall | undefined> {
    const got = await conn.blpop(groupKeys.calls(this.prefix, nnodes), timeoutS);
    const call = parseCall(got?.[1]);
    return call && call.expires_at > now() ? call : undefined;
  }

  /** Returns a taken call to the list (for another agent to take). */
  async putBack(call: GroupCall): Promise<void> {
    await this.redis.rpush(groupKeys.calls(this.prefix, call.nnodes), JSON.stringify(call));
  }

  /** Removes the calls of `call`'s group that no node took (its try is over). */
  async withdraw(call: GroupCall): Promise<void> {
    await this.redis.lrem(groupKeys.calls(this.prefix, call.nnodes), 0, JSON.stringify(call));
  }

  async reportFailure(group: string, failure: NodeFailure): Promise<void> {
    const key = groupKeys.failures(this.prefix, group);
    await this.redis.multi().rpush(key, JSON.stringify(failure)).expire(key, FAILURE_TTL_S).exec();
  }

  /** The joining nodes' failures of `group`, waiting up to `waitMs` for the first (they fail about when the leader does). */
  async failures(group: string, waitMs: number): Promise<NodeFailure[]> {
    const key = groupKeys.failures(this.prefix, group);
    const end = Date.now() + waitMs;
    for (;;) {
      const rows = await this.redis.lrange(key, 0, -1);
      if (rows.length || Date.now() >= end) return rows.map((r) => JSON.parse(r) as NodeFailure);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The leader's error for a failed try: its own ranks mostly report a peer that vanished, so a
 * joining node's out-of-memory or bad input, when there is one, says better what to do next.
 */
export function groupFailureType(own: ErrorType, others: readonly NodeFailure[]): NodeFailure | undefined {
  if (own === 'OutOfMemory' || own === 'BadInput' || own === 'Cancelled') return undefined;
  return others.find((f) => f.type === 'OutOfMemory') ?? others.find((f) => f.type === 'BadInput');
}
