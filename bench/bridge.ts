/**
 * Bridge: sequential round trip and pipelined throughput of `PythonProcess.echo` (the real worker
 * server: reader thread, protocol parsing, cached encoder) vs a bare execa pipe to echo_bare.py
 * driven by the least Node code that still matches answers to requests.
 */
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { PythonProcess } from '../orchestrator/bridge/python-process.js';
import { PYTHON, REPO, pythonEnv } from './lib/python.js';
import { atMost, atLeast, now, row } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

const DATA = { seed_id: 'seed-0001', n: 3, ok: true };

interface Echoer {
  echo(data: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** FIFO matching is enough: the bare script answers in order. */
function bareEchoer(): Echoer {
  const child: ResultPromise = execa(PYTHON, [join(REPO, 'bench', 'py', 'echo_bare.py')], {
    env: pythonEnv(),
    buffer: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const waiting: Array<(v: unknown) => void> = [];
  let rest = '';
  let id = 0;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const l of lines) waiting.shift()!((JSON.parse(l) as { result: { data: unknown } }).result.data);
  });
  return {
    echo(data) {
      return new Promise((res) => {
        waiting.push(res);
        child.stdin!.write(
          `{"v":1,"type":"request","id":${++id},"method":"echo","params":${JSON.stringify({ data })}}\n`,
        );
      });
    },
    async close() {
      child.stdin!.end();
      await child.catch(() => undefined);
    },
  };
}

async function oursEchoer(): Promise<Echoer> {
  const p = await PythonProcess.start({ env: pythonEnv() });
  return { echo: (d) => p.echo(d), close: async () => void (await p.close()) };
}

/** Mean milliseconds per sequential round trip over `n`. */
async function roundTrip(e: Echoer, n: number): Promise<number> {
  const t = now();
  for (let i = 0; i < n; i++) await e.echo(DATA);
  return (now() - t) / n;
}

/** Messages a second with `n` requests in flight at once. */
async function pipelined(e: Echoer, n: number): Promise<number> {
  const t = now();
  await Promise.all(Array.from({ length: n }, () => e.echo(DATA)));
  return n / ((now() - t) / 1000);
}

export const bridge: Benchmark = {
  name: 'bridge',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const seqN = ctx.quick ? 500 : 3000;
    const pipeN = ctx.quick ? 5000 : 30000;
    const ours = await oursEchoer();
    const bare = bareEchoer();
    const rt = { ours: [] as number[], bare: [] as number[] };
    const tp = { ours: [] as number[], bare: [] as number[] };
    try {
      // Warm-up: JIT on both sides, pipe buffers, Python's first allocations.
      await roundTrip(ours, 300);
      await roundTrip(bare, 300);
      await pipelined(ours, 2000);
      await pipelined(bare, 2000);
      // Interleaved so that load from other users of the machine hits both alike.
      for (let r = 0; r < ctx.reps; r++) {
        rt.ours.push(await roundTrip(ours, seqN));
        rt.bare.push(await roundTrip(bare, seqN));
        tp.ours.push(await pipelined(ours, pipeN));
        tp.bare.push(await pipelined(bare, pipeN));
        ctx.log(
          `bridge rep ${r + 1}: rt ${rt.ours.at(-1)!.toFixed(4)} vs ${rt.bare.at(-1)!.toFixed(4)} ms; ${tp.ours.at(-1)!.toFixed(0)} vs ${tp.bare.at(-1)!.toFixed(0)} msg/s`,
        );
      }
    } finally {
      await ours.close();
      await bare.close();
    }
    return {
      name: 'bridge',
      title: 'Bridge: echo through the Python worker',
      ours: 'PythonProcess.echo against `python -m ipa_worker serve`',
      baseline: 'execa pipe to bench/py/echo_bare.py (json.loads / json.dumps loop)',
      rows: [
        row('sequential round trip', 'ms', rt.ours, rt.bare, atMost(2)),
        row('pipelined throughput', 'msg/s', tp.ours, tp.bare, undefined),
      ],
      notes: [`${seqN} sequential and ${pipeN} pipelined requests per repetition; payload ${JSON.stringify(DATA)}.`],
      seconds: (now() - t0) / 1000,
    };
  },
};
