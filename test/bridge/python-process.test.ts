/**
 * PythonProcess against the real worker (`python -m ipa_worker serve`, test methods on) and,
 * for misbehaviour the worker never shows, small stand-in scripts passed through `args`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  PythonError,
  PythonProcess,
  PythonProcessExited,
  PythonStartTimeout,
  RequestTimeout,
  type PythonProcessOptions,
} from '../../orchestrator/bridge/python-process.js';
import { MAX_LINE_BYTES, type LogEntry, type Progress } from '../../orchestrator/contract/protocol.js';
import { ContractError } from '../../orchestrator/contract/contract-error.js';

const TEST_ENV = { IPA_WORKER_TEST_METHODS: '1' };
const started: PythonProcess[] = [];

async function start(opts: PythonProcessOptions = {}): Promise<PythonProcess> {
  const p = await PythonProcess.start({ ...opts, env: { ...TEST_ENV, ...opts.env } });
  started.push(p);
  return p;
}

/** A stand-in worker: says ready, then reads and ignores everything (optionally SIGTERM too). */
function stubArgs(ignoreTerm: boolean): string[] {
  const script = [
    'import json, os, signal, sys, time',
    ignoreTerm ? 'signal.signal(signal.SIGTERM, signal.SIG_IGN)' : '',
    'ready = {"v": 1, "type": "ready", "pid": os.getpid(), "versions": {"python": "3", "torch": None}, "devices": [{"kind": "cpu"}], "backends": ["hf"]}',
    'sys.stdout.write(json.dumps(ready) + "\\n"); sys.stdout.flush()',
    'for line in sys.stdin: pass',
    'time.sleep(60)',
  ];
  return ['-c', script.join('\n')];
}

/** What `p` rejects with; fails the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close({ graceMs: 2000 })));
});

describe('PythonProcess with a shared worker', () => {
  let py: PythonProcess;
  beforeAll(async () => {
    py = await PythonProcess.start({ env: TEST_ENV });
  });
  afterAll(async () => {
    await py.close();
  });

  it('reports ready: pid, versions, devices, backends', () => {
    expect(py.ready.pid).toBe(py.pid);
    expect(py.ready.devices[0]).toEqual({ kind: 'cpu' });
    expect(py.ready.versions.python).toMatch(/^3\.\d+\.\d+$/);
    expect(Object.values(py.ready.versions).every((v) => typeof v === 'string')).toBe(true);
    expect(py.ready.backends).toContain('hf');
    expect(py.exitInfo).toBeUndefined();
  });

  it('echoes data unchanged, and answers ping', async () => {
    const data = { text: 'héllo ✓ \u2028', list: [1, 2.5, null, true, { a: [] }], empty: '' };
    expect(await py.echo(data)).toEqual(data);
    expect(await py.ping()).toEqual({ pid: py.pid });
  });

  it('resolves 1,000 pipelined echoes, each with its own data, in order', async () => {
    const order: number[] = [];
    const all = Array.from({ length: 1000 }, (_, i) => py.echo({ i }).then((r) => (order.push(r.i), r.i)));
    expect(await Promise.all(all)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(py.pendingCount).toBe(0);
  });

  it('rejects params that cannot be serialised without leaving the request pending', async () => {
    await expect(py.request('echo', { data: 1n })).rejects.toThrow(TypeError);
    expect(py.pendingCount).toBe(0);
  });

  it('carries a line of several megabytes across many chunks', async () => {
    const big = 'x'.repeat(3_000_000) + 'é';
    expect(await py.echo(big)).toBe(big);
  });

  it('refuses a request longer than the line limit the worker reads, leaving nothing pending', async () => {
    const huge = 'x'.repeat(MAX_LINE_BYTES);
    await expect(py.request('echo', { data: huge })).rejects.toThrow(ContractError);
    await expect(py.request('echo', { data: huge })).rejects.toThrow(/line limit/);
    expect(py.pendingCount).toBe(0);
    expect(await py.echo('still here')).toBe('still here');
  });

  it('rejects a stage payload that breaks the configured schema with BadInput and its JSON path', async () => {
    await py.configure({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { stage: { type: 'string' }, round: { type: 'integer' } },
      required: ['stage', 'round'],
    });
    const err = await rejection(py.request('stage', { stage: 'sample', round: 'one' }));
    expect(err).toBeInstanceOf(PythonError);
    expect(err.type).toBe('BadInput');
    expect(err.method).toBe('stage');
    expect(err.message).toContain('$.round');
  });

  it('rejects an unknown method with a PythonError carrying the traceback', async () => {
    const err = await rejection(py.request('frobnicate'));
    expect(err).toBeInstanceOf(PythonError);
    expect(err.type).toBe('BadInput');
    expect(err.traceback).toMatch(/^Traceback/);
    expect(err.traceback).toContain("unknown method 'frobnicate'");
  });

  it('delivers progress at most about 2 a second, ending with done = total', async () => {
    const seen: Array<Progress & { at: number }> = [];
    const t0 = Date.now();
    const result = await py.request(
      'sleep',
      { seconds: 1.5, steps: 60 },
      { onProgress: (p) => seen.push({ ...p, at: Date.now() }) },
    );
    const seconds = (Date.now() - t0) / 1000;
    expect(result).toEqual({ seconds: 1.5, steps: 60 });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.length).toBeLessThanOrEqual(2 * seconds + 2);
    expect(seen.at(-1)).toMatchObject({ done: 60, total: 60, metrics: { step: 60 } });
    for (let i = 2; i < seen.length - 1; i++) expect(seen[i].at - seen[i - 1].at).toBeGreaterThan(300);
  });

  it('cancels through an AbortSignal: rejects with Cancelled and stays usable', async () => {
    const abort = new AbortController();
    const t0 = Date.now();
    const running = py.request(
      'sleep',
      { seconds: 30, steps: 300 },
      { signal: abort.signal, onProgress: () => abort.abort() },
    );
    const err = await rejection(running);
    expect(err).toBeInstanceOf(PythonError);
    expect(err.type).toBe('Cancelled');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await py.echo('still here')).toBe('still here');
    expect(py.exitInfo).toBeUndefined();
  });

  it('rejects at once when the signal is already aborted', async () => {
    const err = await rejection(py.request('sleep', { seconds: 30 }, { signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(PythonError);
    expect(err.type).toBe('Cancelled');
    expect(py.pendingCount).toBe(0);
  });

  it('times out a request with RequestTimeout and cancels it in the worker', async () => {
    const err = await rejection(py.request('sleep', { seconds: 30, steps: 300 }, { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(RequestTimeout);
    // The worker answers the cancel; the next request is served, not queued behind the sleep.
    expect(await py.echo(1)).toBe(1);
    await expect.poll(() => py.pendingCount).toBe(0);
  });

  it('keeps the stream intact when Python prints to stdout; the text lands on stderr', async () => {
    const logs: LogEntry[] = [];
    await py.request('pollute', { text: 'STRAY-OUTPUT' }, { onLog: (l) => logs.push(l) });
    expect(await py.echo('after')).toBe('after');
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'polluted stdout',
        fields: expect.objectContaining({ text: 'STRAY-OUTPUT' }),
      }),
    ]);
  });
});

describe('PythonProcess lifecycle', () => {
  it('captures stderr lines, including stray prints', async () => {
    const lines: string[] = [];
    const py = await start({ onStderr: (l) => lines.push(l) });
    await py.request('pollute', { text: 'STRAY-OUTPUT' });
    await py.close();
    expect(lines).toContain('STRAY-OUTPUT');
    expect(lines).toContain('STRAY-OUTPUT (written to fd 1)');
  });

  it('rejects every pending request with PythonProcessExited when the process dies', async () => {
    const py = await start();
    const exitEvents: unknown[] = [];
    py.on('exit', (e) => exitEvents.push(e));
    const sleeping = rejection(py.request('sleep', { seconds: 30, steps: 300 }));
    const crashing = rejection(py.request('crash', { code: 3 }));
    for (const err of [await sleeping, await crashing]) {
      expect(err).toBeInstanceOf(PythonProcessExited);
      expect(err.code).toBe(3);
      expect(err.signal).toBeNull();
      expect(err.stderrTail).toContain('crash requested: exiting with code 3');
    }
    expect(await py.exited).toEqual({ code: 3, signal: null });
    expect(exitEvents).toEqual([{ code: 3, signal: null }]);
    expect(py.pendingCount).toBe(0);
    await expect(py.echo(1)).rejects.toBeInstanceOf(PythonProcessExited);
  });

  it('closes gracefully: pending work is cancelled, exit code 0', async () => {
    const py = await start();
    const sleeping = rejection(py.request('sleep', { seconds: 30, steps: 300 }));
    expect(await py.close()).toEqual({ code: 0, signal: null });
    const err = await sleeping;
    expect(err).toBeInstanceOf(PythonError);
    expect(err.type).toBe('Cancelled');
    expect(await py.close()).toEqual({ code: 0, signal: null });
  });

  it('escalates close to SIGKILL when the process ignores shutdown and SIGTERM', async () => {
    const py = await start({ args: stubArgs(true) });
    expect(await py.close({ graceMs: 200 })).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('sends SIGTERM when a cancelled request is not answered within the grace period', async () => {
    const py = await start({ args: stubArgs(false), cancelGraceMs: 200 });
    const abort = new AbortController();
    const req = rejection(py.request('stage', {}, { signal: abort.signal }));
    abort.abort();
    const err = await req;
    expect(err).toBeInstanceOf(PythonProcessExited);
    expect(err.signal).toBe('SIGTERM');
  });

  it('kill() sends a signal at once', async () => {
    const py = await start();
    expect(py.kill('SIGKILL')).toBe(true);
    expect(await py.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(py.kill()).toBe(false);
  });

  it('fails start with the stderr tail when the process exits before ready', async () => {
    const err = await rejection(
      start({ args: ['-c', 'import sys; sys.stderr.write("boom: no worker here\\n"); sys.exit(4)'] }),
    );
    expect(err).toBeInstanceOf(PythonProcessExited);
    expect(err.code).toBe(4);
    expect(err.stderrTail).toContain('boom: no worker here');
  });

  it('fails start when the interpreter does not exist', async () => {
    const err = await rejection(start({ python: '/nonexistent/python' }));
    expect(err).toBeInstanceOf(PythonProcessExited);
    expect(err.stderrTail).toContain('ENOENT');
  });

  it('fails start with PythonStartTimeout when ready never comes', async () => {
    const err = await rejection(
      start({
        args: ['-c', 'import sys, time; print("starting", file=sys.stderr, flush=True); time.sleep(60)'],
        readyTimeoutMs: 500,
      }),
    );
    expect(err).toBeInstanceOf(PythonStartTimeout);
    expect(err.stderrTail).toContain('starting');
  });

  it('a stop while the process starts kills it, and start rejects as Cancelled', async () => {
    const abort = new AbortController();
    let pid = 0;
    const starting = start({
      args: ['-c', 'import os, sys, time; print(os.getpid(), file=sys.stderr, flush=True); time.sleep(60)'],
      signal: abort.signal,
      onStderr: (line) => {
        pid = Number(line);
        abort.abort('stop');
      },
    });
    const err = await rejection(starting);
    expect(err).toBeInstanceOf(PythonError);
    expect(err).toMatchObject({ type: 'Cancelled', method: 'start' });
    expect(pid).toBeGreaterThan(0);
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 5000 });
  });
});
