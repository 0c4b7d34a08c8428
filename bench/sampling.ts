/**
 * Sampling: ipa_worker.models.generation.generate with all prompts in one batch vs a plain loop of
 * one-prompt `model.generate` calls, on the tiny model (bench/py/sampling.py, one process, the
 * model loaded once, repetitions interleaved).
 */
import { ensureTinyModel } from './lib/tiny.js';
import { runPythonJson } from './lib/python.js';
import { atLeast, now, row } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

interface Out {
  ours: number[];
  baseline: number[];
  tokens_ours: number[];
  tokens_baseline: number[];
}

export const sampling: Benchmark = {
  name: 'sampling',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const model = await ensureTinyModel();
    const prompts = ctx.quick ? 8 : 16;
    const maxNew = ctx.quick ? 8 : 16;
    const out = await runPythonJson<Out>('sampling.py', [
      '--model',
      model,
      '--prompts',
      String(prompts),
      '--max-new-tokens',
      String(maxNew),
      '--batch-size',
      String(prompts),
      '--reps',
      String(ctx.reps),
    ]);
    ctx.log(
      `sampling: ours ${out.ours.map((x) => x.toFixed(0)).join(' ')} tok/s; loop ${out.baseline.map((x) => x.toFixed(0)).join(' ')} tok/s`,
    );
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return {
      name: 'sampling',
      title: `Sampling: ${prompts} prompts × ≤ ${maxNew} new tokens on the tiny Qwen2-VL (CPU)`,
      ours: `ipa_worker.models.generation.generate, batch_size ${prompts}`,
      baseline: 'a loop of one-prompt model.generate calls (same sampling settings)',
      rows: [row('generation throughput', 'tokens/s', out.ours, out.baseline, atLeast(5))],
      notes: [
        `Tokens generated per repetition (before end-of-turn): ours ${sum(out.tokens_ours) / out.tokens_ours.length}, loop ${sum(out.tokens_baseline) / out.tokens_baseline.length} on average.`,
      ],
      seconds: (now() - t0) / 1000,
    };
  },
};
