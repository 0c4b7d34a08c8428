/**
 * The Redis side of training groups across nodes (agent/train-group.ts), on a real Redis: a worker
 * leads only when no other group waits for a node, and otherwise joins that one first (so two
 * leaders never wait for each other); idle workers take the calls; stale and leftover calls go;
 * a joining node's failure kind reaches the leader's error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  groupFailureType,
  groupId,
  groupKeys,
  TrainGroups,
  type GroupCall,
} from '../../orchestrator/agent/train-group.js';
import { deletePrefix, testConnection, uniquePrefix } from '../helpers/redis.js';

function call(job: string, over: Partial<GroupCall> = {}): GroupCall {
  return {
    job_id: job,
    queue: 'train',
    attempt: 1,
    batch_scale: 1,
    nnodes: 3,
    endpoint: '10.0.0.5:29500',
    group_id: groupId(job, 1),
    leader: `agent-${job}`,
    expires_at: Date.now() + 60_000,
    ...over,
  };
}

describe('training groups in Redis', () => {
  let redis: Redis;
  let blocking: Redis;
  const prefix = uniquePrefix('groups');
  let groups: TrainGroups;

  beforeAll(() => {
    redis = testConnection();
    blocking = testConnection();
    groups = new TrainGroups(redis, prefix);
  });

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
    await blocking.quit();
  });

  it('the first worker leads (one call per node it needs); the next joins it instead of leading its own job', async () => {
    const a = call('job-a');
    expect(await groups.leadOrFollow(a)).toBeUndefined();
    expect(await redis.llen(groupKeys.calls(prefix, 3))).toBe(2); // three nodes: two more wanted
    // Another worker took job b meanwhile: it joins a's group first, and a still wants one node.
    expect(await groups.leadOrFollow(call('job-b'))).toEqual(a);
    expect(await groups.take(blocking, 3, 1)).toEqual(a);
    expect(await groups.take(blocking, 3, 1)).toBeUndefined(); // none left: waited a second
    // Groups of another size never meet these calls.
    expect(await groups.leadOrFollow(call('job-c', { nnodes: 2 }))).toBeUndefined();
    expect(await redis.llen(groupKeys.calls(prefix, 2))).toBe(1);
    await groups.withdraw(call('job-c', { nnodes: 2, group_id: 'other' })); // another try's: untouched
    expect(await redis.llen(groupKeys.calls(prefix, 2))).toBe(1);
  });

  it('a leader withdraws what nobody took; expired calls are neither followed nor taken', async () => {
    const d = call('job-d');
    expect(await groups.leadOrFollow(d)).toBeUndefined();
    await groups.withdraw(d);
    expect(await redis.llen(groupKeys.calls(prefix, 3))).toBe(0);
    const stale = call('job-e', { expires_at: Date.now() - 1 });
    await redis.rpush(groupKeys.calls(prefix, 3), JSON.stringify(stale));
    // The stale call is dropped, so this worker leads.
    expect(await groups.leadOrFollow(call('job-f'))).toBeUndefined();
    expect((await redis.lrange(groupKeys.calls(prefix, 3), 0, -1)).map((r) => JSON.parse(r).job_id)).toEqual([
      'job-f',
      'job-f',
    ]);
    await redis.del(groupKeys.calls(prefix, 3));
    await redis.rpush(groupKeys.calls(prefix, 3), JSON.stringify(stale));
    expect(await groups.take(blocking, 3, 1)).toBeUndefined();
  });

  it("a joining node's out-of-memory or bad input becomes the leader's error; the leader's own kind wins otherwise", async () => {
    const g = groupId('job-g', 2);
    expect(g).toMatch(/^job-g\.a2\.[0-9a-f]{6}$/);
    expect(await groups.failures(g, 200)).toEqual([]);
    await groups.reportFailure(g, { type: 'Internal', message: 'Connection closed by peer', worker: 'w2' });
    await groups.reportFailure(g, { type: 'OutOfMemory', message: 'CUDA out of memory', worker: 'w3' });
    const others = await groups.failures(g, 0);
    expect(others.map((f) => f.type)).toEqual(['Internal', 'OutOfMemory']);
    expect(groupFailureType('Internal', others)?.worker).toBe('w3');
    expect(groupFailureType('BadInput', others)).toBeUndefined();
    expect(groupFailureType('Internal', [others[0]])).toBeUndefined();
    expect(await redis.ttl(groupKeys.failures(prefix, g))).toBeGreaterThan(0); // reports expire
  });
});
