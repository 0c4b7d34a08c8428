/**
 * `make bench`: every benchmark against its baseline in one run, results in bench/results.json
 * and bench/results.md (also printed). Goals are ratios measured side by side, because the
 * machine is shared and absolute timings drift.
 *
 *   npx tsx bench/run.ts [--quick] [--only name[,name...]] [--out DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bridge } from './bridge.js';
import { control } from './control.js';
import { dashboard } from './dashboard.js';
import { fanIn } from './fan-in.js';
import { machine } from './lib/machine.js';
import { benchRedis } from './lib/redis.js';
import { markdown } from './lib/report.js';
import type { Benchmark, BenchResult, Results } from './lib/types.js';
import { sampling } from './sampling.js';
import { scaling } from './scaling.js';
import { training } from './training.js';
import { utilisation } from './utilisation.js';
import { vllm } from './vllm.js';

const ALL: Benchmark[] = [control, fanIn, bridge, sampling, training, utilisation, scaling, dashboard, vllm];
/** A whole tiny round, or a vLLM engine start, does not fit the quick form's two minutes. */
const NOT_QUICK = new Set(['utilisation', 'vllm']);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } },
  });
  const quick = values.quick!;
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !ALL.some((b) => b.name === n)) ?? [];
  if (unknown.length)
    throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${ALL.map((b) => b.name).join(', ')}`);
  const chosen = ALL.filter((b) => (only ? only.includes(b.name) : !(quick && NOT_QUICK.has(b.name))));
  const outDir = resolve(values.out ?? join(import.meta.dirname));
  const started = new Date();
  const t0 = performance.now();
  const log = (msg: string) =>
    process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
  const m = await machine();
  const redis = await benchRedis();
  const results: BenchResult[] = [];
  try {
    for (const b of chosen) {
      log(`${b.name}…`);
      results.push(await b.run({ quick, reps: 5, redisUrl: redis.url, log }));
    }
  } finally {
    await redis.stop();
  }
  const res: Results = {
    started_at: started.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    quick,
    machine: m,
    benchmarks: results,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(res, null, 2) + '\n');
  const md = markdown(res);
  writeFileSync(join(outDir, 'results.md'), md);
  process.stdout.write(md);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
