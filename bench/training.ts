/**
 * Training: ipa_worker.training.dpo_trainer.train_dpo vs a plain TRL DPOTrainer script on the same pairs
 * and settings. Each repetition of each side is its own process, so peak RSS (getrusage) is that
 * run's alone; the two alternate so machine load hits both alike. Speed is steps over the train
 * loop's wall time (a TrainerCallback in both); model loading and saving are not in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureTinyModel } from './lib/tiny.js';
import { PYTHON, REPO, pythonEnv, runPythonJson } from './lib/python.js';
import { atLeast, atMost, now, row } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

interface Out {
  steps: number;
  steps_per_s: number;
  loop_seconds: number;
  total_seconds: number;
  peak_rss_mib: number;
}

export const training: Benchmark = {
  name: 'training',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const model = await ensureTinyModel();
    const work = mkdtempSync(join(tmpdir(), 'ipa-bench-train-'));
    const reps = ctx.quick ? 1 : ctx.reps;
    const settings = {
      threads: 2,
      max_steps: ctx.quick ? 1 : 3,
      model: { device: 'cpu', dtype: 'float32', attn_implementation: 'sdpa', min_pixels: 3136, max_pixels: 3136 },
      dpo: {
        beta: 0.1,
        loss_type: 'sigmoid',
        learning_rate: 5e-4,
        epochs: 1,
        batch_size: 2,
        grad_accum: 1,
        gradient_checkpointing: false,
        bf16: 'auto',
        precompute_ref_log_probs: false,
        max_length: 256,
        save_steps: 1000,
        full_finetune: false,
        seed: 0,
      },
      lora: {
        r: 8,
        alpha: 16,
        dropout: 0,
        target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      },
    };
    const res = { ours: [] as Out[], trl: [] as Out[] };
    try {
      await execa(PYTHON, [join(REPO, 'bench', 'py', 'make_pairs.py'), work, '16'], { env: pythonEnv() });
      const pairs = join(work, 'pairs.jsonl');
      for (let r = 0; r < reps; r++) {
        const sides = r % 2 ? (['trl', 'ours'] as const) : (['ours', 'trl'] as const);
        for (const side of sides) {
          const out = await runPythonJson<Out>(`train_${side}.py`, [
            model,
            pairs,
            join(work, `${side}-${r}`),
            JSON.stringify(settings),
          ]);
          res[side].push(out);
          ctx.log(
            `training rep ${r + 1} ${side}: ${out.steps_per_s.toFixed(3)} steps/s, peak ${out.peak_rss_mib.toFixed(0)} MiB`,
          );
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const pick = (xs: Out[], k: keyof Out) => xs.map((x) => x[k]);
    return {
      name: 'training',
      title: `Training: DPO with LoRA on the tiny Qwen2-VL, ${settings.max_steps} steps of ${settings.dpo.batch_size} pairs (CPU)`,
      ours: 'ipa_worker.training.dpo_trainer.train_dpo (load_pairs, LoRA regex, metrics callback)',
      baseline: 'plain TRL DPOTrainer script, same pairs and DPOConfig values',
      rows: [
        row('train loop speed', 'steps/s', pick(res.ours, 'steps_per_s'), pick(res.trl, 'steps_per_s'), atLeast(1.0)),
        row('peak RSS', 'MiB', pick(res.ours, 'peak_rss_mib'), pick(res.trl, 'peak_rss_mib'), atMost(1.0)),
        row('whole process (load, train, save)', 's', pick(res.ours, 'total_seconds'), pick(res.trl, 'total_seconds')),
      ],
      notes: [`${reps} process(es) per side, alternating; torch on ${settings.threads} threads.`],
      seconds: (now() - t0) / 1000,
    };
  },
};
