/**
 * vLLM on the tiny Qwen2-VL (CPU), in the optional vLLM environment (bench/py/vllm_sampling.py,
 * one process, one engine start, repetitions interleaved):
 * - the vllm backend against the hf backend on the same prompts, images, seeds and settings;
 * - the sample stage on vLLM against a bare offline vLLM script on the same engine and prompts: our overhead;
 * - a round's whole generation (sample, verify, revise, verify_revisions) on vLLM against the same on hf.
 * Without .venv-vllm the benchmark reports no rows and says how to get it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTinyModel } from './lib/tiny.js';
import { VLLM_PYTHON, runPythonJson } from './lib/python.js';
import { atMost, now, row } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

interface Out {
  hf: number[];
  vllm: number[];
  tokens_hf: number[];
  tokens_vllm: number[];
  stage_s: number[];
  bare_s: number[];
  tokens_stage: number[];
  tokens_bare: number[];
  engine_start_s: number;
  prompts: number;
  round_vllm_s: number[];
  round_hf_s: number[];
  /** Per repetition, per stage: what it generated and in how long (null: it generated nothing). */
  round_vllm: Array<Record<string, { generated_tokens: number; generation_s: number } | null>>;
  round_hf: Array<Record<string, { generated_tokens: number; generation_s: number } | null>>;
}

const ROUND_STAGES = ['sample', 'verify', 'revise', 'verify_revisions'];

/** "sample 1,204, verify 830, ...": tokens/s per stage, summed over the repetitions. */
function stageRates(reps: Out['round_vllm']): string {
  return ROUND_STAGES.map((st) => {
    const runs = reps.map((r) => r[st]).filter((x): x is { generated_tokens: number; generation_s: number } => !!x);
    const tokens = runs.reduce((a, r) => a + r.generated_tokens, 0);
    const secs = runs.reduce((a, r) => a + r.generation_s, 0);
    return `${st} ${secs > 0 ? Math.round(tokens / secs).toLocaleString('en-US') : '–'}`;
  }).join(', ');
}

const TITLE = 'vLLM generation on the tiny Qwen2-VL (CPU)';
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const vllm: Benchmark = {
  name: 'vllm',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const base = {
      name: 'vllm',
      title: TITLE,
      ours: 'ipa_worker.models.vllm_engine (a role on the one engine); the stages with generation.backend vllm',
    };
    if (!existsSync(VLLM_PYTHON)) {
      const why =
        'skipped: the optional vLLM environment (.venv-vllm) is absent; run scripts/setup-vllm.sh (about 6 GB, cached outside the clone), then npx tsx bench/run.ts --only vllm';
      ctx.log(`vllm: ${why}`);
      return { ...base, baseline: 'none (skipped)', rows: [], notes: [why], seconds: (now() - t0) / 1000 };
    }
    const model = await ensureTinyModel();
    const work = mkdtempSync(join(tmpdir(), 'ipa-bench-vllm-'));
    const seeds = ctx.quick ? 4 : 16;
    const maxNew = ctx.quick ? 8 : 32;
    try {
      const out = await runPythonJson<Out>(
        'vllm_sampling.py',
        [
          '--model',
          model,
          '--work',
          work,
          '--seeds',
          String(seeds),
          '--per-seed',
          '2',
          '--max-new-tokens',
          String(maxNew),
          '--reps',
          String(ctx.quick ? 1 : ctx.reps),
        ],
        1_800_000,
        VLLM_PYTHON,
      );
      ctx.log(
        `vllm: engine start ${out.engine_start_s.toFixed(0)} s; vllm ${out.vllm.map((x) => x.toFixed(0)).join(' ')} tok/s, hf ${out.hf.map((x) => x.toFixed(0)).join(' ')} tok/s`,
      );
      return {
        ...base,
        baseline:
          'the hf backend (generation.generate, one torch thread, all prompts in one batch); a bare offline vLLM script (LLM.generate) on the same engine',
        rows: [
          row('sampling throughput: vllm backend vs hf backend', 'tokens/s', out.vllm, out.hf),
          row('sample stage on vLLM vs bare vLLM script (our overhead)', 's', out.stage_s, out.bare_s, atMost(1.05)),
          row(
            "a round's generation (sample + verify + revise + verify_revisions): vllm vs hf",
            's',
            out.round_vllm_s,
            out.round_hf_s,
          ),
        ],
        notes: [
          `${out.prompts} prompts (${seeds} seeds × 2 samples, one 56×56 image each), ≤ ${maxNew} new tokens, temperature 1, top-p 0.95, each request seeded with its sample's seed.`,
          `vLLM computes on one bound core on a CPU, so the hf side runs one torch thread too. Engine start (not timed in the rows): ${out.engine_start_s.toFixed(0)} s.`,
          `Tokens per repetition: vllm backend ${mean(out.tokens_vllm)}, hf backend ${mean(out.tokens_hf)} (the backends draw differently); stage ${mean(out.tokens_stage)}, bare ${mean(out.tokens_bare)} (bare counts the end token vLLM keeps).`,
          'The stage reads the seed shard, loads and checks each image, renders prompts, generates and writes its rows; the bare script opens the same images, renders the same prompts and generates.',
          `Round: ${seeds} seeds x 2 samples, the model judge (≤ ${maxNew} tokens) on every response and refinement, one feedback and refinement (≤ ${maxNew} tokens each) per failed response (the rule matcher's verdicts pick them: a random judge states no checks), stage functions on the same payloads; the time includes reading and writing the shards. Tokens/s per stage (generated tokens over generation seconds, all repetitions): vllm ${stageRates(out.round_vllm)}; hf ${stageRates(out.round_hf)}.`,
        ],
        seconds: (now() - t0) / 1000,
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
