/**
 * The recipe schema: the single source of truth for every setting of a run.
 *
 * Types (`Recipe`), defaults, the field reference in docs/recipe.md and the JSON Schema the
 * Python worker validates job payloads against are all derived from this file
 * (see `contract/json-schema.ts` and `ipa recipe schema`). Every field carries its default and a
 * description; where the paper is silent the default is ours and the description says so.
 * Path fields are declared with `pathField(need)`, which tells the loader what must exist there.
 */
import { z } from 'zod';
import { pathField, rootsField } from './path-fields.js';

/**
 * Upper bounds on sizes no machine could hold (issue 25): a recipe asking for more is refused at
 * validation, naming the bound, instead of failing hours later out of disk, memory or Redis.
 * Each is far above any real run (the paper's data: ~89K pairs).
 */
/** Items of one generated split: a million small PNGs is already gigabytes. */
export const MAX_GENERATED_ITEMS = 1_000_000;
/** Seeds of a run (data.max_seeds). */
export const MAX_SEEDS = 100_000_000;
/** Shards of a round: each is ~5 jobs held in Redis and as many done records on disk. */
export const MAX_SHARDS = 100_000;
/** Responses of one kind per seed. */
export const MAX_SAMPLES_PER_SEED = 1024;

const num = (lo: number, hi: number) =>
  z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b && a >= lo && b <= hi, {
    message: `a [low, high] range with ${lo} <= low <= high <= ${hi}`,
  });

export const LoraSchema = z
  .object({
    r: z.number().int().positive().default(16).describe('LoRA rank.'),
    alpha: z.number().positive().default(32).describe('LoRA alpha (scaling = alpha / r).'),
    dropout: z.number().min(0).max(1).default(0.05).describe('LoRA dropout.'),
    target_modules: z
      .array(z.string().min(1))
      .min(1)
      .default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])
      .describe('Modules of the language model that get adapters (the vision tower is left frozen).'),
  })
  .strict();

export const ModelSchema = z
  .object({
    base: pathField('any', { createdWhen: 'build_tiny' }).describe(
      'Checkpoint directory of the initial model (Qwen2-VL / Qwen2.5-VL, `from_pretrained` format).',
    ),
    build_tiny: z
      .boolean()
      .default(false)
      .describe(
        'Build a tiny randomly initialised Qwen2-VL at `base` when the folder is missing (tests and the demo; no download).',
      ),
    tiny_seed: z.number().int().default(0).describe('Seed of the tiny model builder.'),
    dtype: z
      .enum(['auto', 'float32', 'bfloat16', 'float16'])
      .default('auto')
      .describe('Weights dtype; auto = bfloat16 on CUDA, float32 on CPU.'),
    device: z
      .enum(['auto', 'cpu', 'cuda'])
      .default('auto')
      .describe('Device for inference and training; auto picks CUDA when present.'),
    attn_implementation: z.enum(['eager', 'sdpa', 'flash_attention_2']).default('sdpa').describe('Attention kernel.'),
    min_pixels: z
      .number()
      .int()
      .positive()
      .default(56 * 56)
      .describe('Smallest image area the processor resizes to.'),
    max_pixels: z
      .number()
      .int()
      .positive()
      .default(448 * 448)
      .describe(
        'Largest image area the processor resizes to; caps visual tokens and memory (every Qwen2-VL user needs this).',
      ),
  })
  .strict();

export const DataSourceSchema = z
  .object({
    path: pathField('any').describe(
      'A JSONL file, a Parquet file or folder, a Hugging Face dataset directory, or a LLaVA/ShareGPT JSON file.',
    ),
    format: z.enum(['jsonl', 'parquet', 'hf', 'sharegpt']).default('jsonl').describe('How to read `path`.'),
    weight: z
      .number()
      .positive()
      .default(1)
      .describe('Mixing weight: share of this source among the seeds (after `max_rows`).'),
    max_rows: z.number().int().positive().optional().describe('Read at most this many rows of the source.'),
    image_root: pathField('dir')
      .optional()
      .describe(
        "Folder that relative image paths in this source are resolved against (default: the source file's folder).",
      ),
  })
  .strict();

export const SyntheticSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Generate the synthetic task into `output_dir` when it is missing.'),
    task: z
      .enum(['canonical', 'premise'])
      .default('canonical')
      .describe(
        'canonical: shapes, colours, counts, positions and text, each with one short canonical answer; premise: one large object, a terse fact reference (`red circle, left`) whatever the instruction, and instructions that ask for a form (a full sentence, one word, JSON with given keys, an attribute left out, a given order, an exact word count; a `control_share` of items the reference already satisfies), with a programmatic ground truth of facts and compliance (workers/ipa_worker/data/premise_task.py).',
      ),
    control_share: z
      .number()
      .min(0)
      .max(1)
      .default(0.15)
      .describe('premise task: share of control items, whose instruction the terse reference already satisfies.'),
    audit_size: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'premise task: items of the labelled audit set (a response per item, labelled by the checker) the verifier gate can judge (`verifier.gate`).',
      ),
    output_dir: pathField('none')
      .default('data/synthetic')
      .describe(
        'Where the generated splits (warmup.jsonl, train.jsonl, validation.jsonl, heldout.jsonl) and images go.',
      ),
    warmup_size: z
      .number()
      .int()
      .min(0)
      .max(MAX_GENERATED_ITEMS)
      .default(0)
      .describe(
        'Items of the warm-up split: what `warmup.sft` trains on with `data: synthetic_warmup` (disjoint from every other split).',
      ),
    train_size: z
      .number()
      .int()
      .positive()
      .max(MAX_GENERATED_ITEMS)
      .default(64)
      .describe('Training seeds to generate (the IPA seeds).'),
    validation_size: z
      .number()
      .int()
      .min(0)
      .max(MAX_GENERATED_ITEMS)
      .default(0)
      .describe('Items of the validation split: for choosing settings (set `eval_split: validation` on tuning runs).'),
    heldout_size: z
      .number()
      .int()
      .positive()
      .max(MAX_GENERATED_ITEMS)
      .default(48)
      .describe('Items of the held-out test split: what a run reports; never used to choose settings.'),
    eval_split: z
      .enum(['heldout', 'validation'])
      .default('heldout')
      .describe(
        'The split the eval stage scores as benchmark "synthetic": the held-out test split, or the validation split for tuning runs.',
      ),
    seed: z.number().int().default(0).describe('Generator seed (the dataset is a pure function of it).'),
    image_size: z.number().int().min(28).max(1024).default(56).describe('Side of the square images, in pixels.'),
  })
  .strict();

export const DataSchema = z
  .object({
    sources: z
      .array(DataSourceSchema)
      .default([])
      .describe('Seed data sources: rows of (image, instruction, reference answer, optional task type).'),
    synthetic: SyntheticSchema.prefault({}).describe(
      'The built-in synthetic task (shapes, colours, counts, text), generated locally.',
    ),
    shard_size: z
      .number()
      .int()
      .positive()
      .max(MAX_SEEDS)
      .default(16)
      .describe('Seeds per shard: the unit of work, retry and resume.'),
    max_seeds: z
      .number()
      .int()
      .positive()
      .max(MAX_SEEDS)
      .optional()
      .describe('Use at most this many seeds (after mixing).'),
    max_instruction_chars: z
      .number()
      .int()
      .positive()
      .default(4000)
      .describe('Longer instructions are rejected row by row.'),
    max_image_bytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024)
      .describe('Larger image files are rejected row by row.'),
    max_image_side: z
      .number()
      .int()
      .positive()
      .default(8192)
      .describe('Images with a larger side are rejected row by row (decompression bombs).'),
  })
  .strict()
  .superRefine((d, ctx) => {
    // The seeds known before the data is read: max_seeds, else the synthetic split when it is the only source.
    const seeds = d.max_seeds ?? (d.sources.length === 0 && d.synthetic.enabled ? d.synthetic.train_size : undefined);
    const shards = seeds === undefined ? 0 : Math.ceil(seeds / d.shard_size);
    if (shards > MAX_SHARDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['shard_size'],
        message: `${seeds} seeds in shards of ${d.shard_size} make ${shards} shards, more than the ${MAX_SHARDS} a round may have (each shard is a chain of jobs in Redis); raise shard_size to at least ${Math.ceil(seeds! / MAX_SHARDS)}`,
      });
    }
  });

const weight = z.number().positive().default(1).describe('Relative chance of drawing this perturbation.');

export const PerturbationSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('gaussian_noise'),
      weight,
      std: num(0, 1).default([0.05, 0.2]).describe('Noise std as a fraction of 255.'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('blur'),
      weight,
      radius: num(0, 50).default([1, 3]).describe('Gaussian blur radius in pixels.'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('downscale'),
      weight,
      factor: num(0.01, 1).default([0.2, 0.5]).describe('Down-scale factor before scaling back up.'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('crop'),
      weight,
      fraction: num(0.05, 1).default([0.5, 0.8]).describe('Side fraction of the random crop kept.'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('color_jitter'),
      weight,
      strength: num(0, 1).default([0.2, 0.6]).describe('Brightness/contrast/saturation jitter strength.'),
    })
    .strict(),
]);

export const VllmSchema = z
  .object({
    gpu_memory_utilization: z
      .number()
      .gt(0)
      .max(1)
      .default(0.9)
      .describe(
        "Share of the GPU's memory the vLLM engine takes for weights, LoRA slots, activations and KV cache (vLLM's default). Every role and stage generates through this one engine, so nothing else of the worker's process needs the card; `ipa worker` prints what the share holds and refuses a share too small for one `max_model_len` sequence (docs/deployment.md, \"Memory plan\"). On a CPU, vLLM reads the KV cache size from VLLM_CPU_KVCACHE_SPACE (GiB) instead.",
      ),
    max_model_len: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Prompt + response tokens one sequence may hold in the engine (sizes its KV cache). Default: derived from the run, so one engine serves all of it: visual tokens (`model.max_pixels` / 784 per image) x the most images of a seed or benchmark row, plus the longest prompt (a role template with the longest instruction, reference and the generated texts it quotes), plus the largest `max_new_tokens`. Set it to cap the KV cache a sequence may take; a prompt longer than it fails its item.',
      ),
  })
  .strict();

export const GenerationSchema = z
  .object({
    backend: z
      .enum(['hf', 'vllm'])
      .default('hf')
      .describe(
        'What every generating stage (sample, verify, revise, verify_revisions, the built-in evaluation) generates with: hf = batched transformers `generate` on one base model per worker process, each role a named PEFT adapter on it; vllm = one vLLM offline engine per worker process (when installed), each role a LoRA request on it. Either way the base weights are in memory once.',
      ),
    vllm: VllmSchema.prefault({}).describe('Engine settings of the vllm backend.'),
  })
  .strict();

export const SamplingSchema = z
  .object({
    num_normal: z
      .number()
      .int()
      .min(0)
      .max(MAX_SAMPLES_PER_SEED)
      .default(4)
      .describe('K: normal responses per seed on (V, I). The paper does not give K; 4 is ours.'),
    num_contrastive: z
      .number()
      .int()
      .min(0)
      .max(MAX_SAMPLES_PER_SEED)
      .default(4)
      .describe("K': contrastive responses per seed on (t(V), I). Ours."),
    temperature: z.number().min(0).default(1.0).describe('Sampling temperature (0 = greedy).'),
    top_p: z.number().gt(0).max(1).default(0.95).describe('Nucleus sampling p.'),
    max_new_tokens: z.number().int().positive().default(128).describe('Longest response.'),
    batch_size: z
      .number()
      .int()
      .positive()
      .default(16)
      .describe(
        'Sequences per `generate` call of the hf backend, in the sample, verify and revise stages (the worker halves it on CUDA out-of-memory); vLLM batches on its own.',
      ),
    perturbations: z
      .array(PerturbationSchema)
      .min(1)
      .prefault([
        { kind: 'gaussian_noise' },
        { kind: 'blur' },
        { kind: 'downscale' },
        { kind: 'crop' },
        { kind: 'color_jitter' },
      ])
      .describe('The set t is drawn from, per contrastive sample, by weight.'),
  })
  .strict();

export const VerifierSchema = z
  .object({
    kind: z
      .enum(['rule', 'model'])
      .default('model')
      .describe(
        'model: pi_V judges the four checks from a prompt; rule: normalised exact/contains/numeric match (short answers).',
      ),
    rule_mode: z
      .enum(['auto', 'exact', 'contains', 'numeric'])
      .default('auto')
      .describe('Rule verifier match; auto picks numeric for numbers, contains for short answers, else exact.'),
    template: pathField('file', { local: true })
      .optional()
      .describe('Prompt template of the model verifier (default: the packaged four-check template).'),
    max_new_tokens: z.number().int().positive().default(96).describe('Verifier output budget (verdict + reasons).'),
    model: z
      .enum(['initial', 'generator'])
      .default('initial')
      .describe('Which weights judge: the initial model, or the current generator (with its adapter).'),
    audit: z
      .enum(['none', 'exact', 'checker'])
      .default('none')
      .describe(
        "Score every verdict against a ground truth for the report: exact = the normalised response equals the reference (only meaningful where references are canonical short answers); checker = the synthetic task's own programmatic checker, per check (premise task: facts and compliance). Gives the verifier's accuracy, precision and recall (per check with checker), the reviser's true repair rate and the share of truly correct chosen responses. The audit decides nothing.",
      ),
    rejudge: z
      .boolean()
      .default(true)
      .describe(
        'Judge an unjudged response (no explicit, consistent verdict) once more, sampled at `rejudge_temperature` (greedy would repeat the same output); one still unjudged stays unjudged (ours).',
      ),
    rejudge_temperature: z
      .number()
      .gt(0)
      .default(0.7)
      .describe('Sampling temperature of the second judgement of an unjudged response.'),
    gate: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Before a round trains on verdicts (objectives dpo and rft), judge a labelled audit set with that round's verifier; below `min_accuracy` the round stops before training, with the figures, instead of training on noise.",
          ),
        audit_set: pathField('file')
          .optional()
          .describe(
            "JSONL rows `{images, instruction, reference, response, label: 0|1}` (optional `checks`); default: the premise task's audit split (`data.synthetic.audit_size`).",
          ),
        min_accuracy: z
          .number()
          .min(0)
          .max(1)
          .default(0.8)
          .describe(
            "The least share of the audit set's labels the verifier must reproduce (unjudged rows count as wrong).",
          ),
      })
      .strict()
      .prefault({})
      .describe(
        'The verifier gate: a labelled audit set and a threshold (ours; a verifier weak on the task makes self-DPO lower the student, arXiv 2606.14629).',
      ),
  })
  .strict();

export const ReviserSchema = z
  .object({
    feedback_template: pathField('file', { local: true }).optional().describe('Feedback prompt: sees (V, I, r).'),
    reference_feedback_template: pathField('file', { local: true })
      .optional()
      .describe('Feedback prompt of reference-guided rounds: also sees r_ref.'),
    refine_template: pathField('file', { local: true })
      .optional()
      .describe('Refinement prompt: sees (V, I, r, feedback).'),
    control_refinements: z
      .boolean()
      .default(false)
      .describe(
        "Also refine every revised response once with empty feedback (the same count), never verified or paired: with `verifier.audit: checker` the report sets the reviser's true repair rate beside this control's, so a repair can be told from the refine prompt alone.",
      ),
    max_revisions_per_seed: z
      .number()
      .int()
      .positive()
      .default(4)
      .describe('Failed responses revised per seed (ours).'),
    feedbacks_per_response: z
      .number()
      .int()
      .positive()
      .default(2)
      .describe(
        'Feedback samples per revised response, each refined and verified (ours): feedback pairs compare two feedbacks on the same response, one whose refinement passed and one whose did not.',
      ),
    temperature: z.number().min(0).default(0.7).describe('Sampling temperature of feedback and refinement (ours).'),
    max_new_tokens: z.number().int().positive().default(128).describe('Budget of feedback and of refinement.'),
  })
  .strict();

export const PairsSchema = z
  .object({
    max_pairs_per_seed: z.number().int().positive().default(2).describe('Response pairs kept per seed (ours).'),
    rejected_choice: z
      .enum(['closest', 'random'])
      .default('closest')
      .describe(
        'closest: the response a passing refinement came from, else the smallest edit distance to the chosen one.',
      ),
    feedback_pairs: z
      .boolean()
      .default(true)
      .describe('Build reviser feedback pairs (passing-refinement feedback vs failing).'),
  })
  .strict();

export const RoundSchema = z
  .object({
    name: z.string().min(1).optional().describe('A label for reports.'),
    seeds: z
      .enum(['all', 'challenging'])
      .optional()
      .describe('all seeds, or those no earlier round solved. Default: all in round 1, challenging after.'),
    contrastive: z.boolean().default(true).describe('Draw contrastive samples on perturbed images.'),
    revision: z.boolean().default(true).describe('Revise failed responses (feedback then refinement).'),
    reference_guided: z
      .boolean()
      .default(false)
      .describe('The feedback prompt also sees r_ref (round 3 of the paper). Never the sampling prompt.'),
    self_evolve: z
      .boolean()
      .optional()
      .describe('Sample and revise with the adapters trained after the previous round (default: true after round 1).'),
  })
  .strict();

/** Experiment trackers TRL reports to (`report_to`). */
export const Tracker = z.enum(['tensorboard', 'wandb', 'mlflow', 'trackio']);

const DpoLoss = z.enum(['sigmoid', 'ipo', 'hinge', 'robust', 'sft']);

export const DpoSchema = z
  .object({
    beta: z.number().positive().default(0.1).describe('DPO beta.'),
    loss_type: z
      .union([DpoLoss, z.array(DpoLoss).min(1)])
      .default('sigmoid')
      .describe(
        "TRL DPO loss type, or a list combined with `loss_weights` (e.g. [sigmoid, sft]: DPO plus an NLL term on the chosen response, as TRL's RPO).",
      ),
    loss_weights: z
      .array(z.number().nonnegative())
      .min(1)
      .optional()
      .describe('Weights of the listed loss types (TRL `loss_weights`); default: all 1.'),
    learning_rate: z.number().positive().default(5e-6).describe('Learning rate.'),
    epochs: z.number().positive().default(1).describe('Epochs (the paper: 1).'),
    batch_size: z
      .number()
      .int()
      .positive()
      .default(4)
      .describe(
        'Pairs one device holds at once. The global batch (pairs per optimiser step) is `batch_size x grad_accum` on any number of training processes: with N processes each takes the largest share up to `batch_size` and accumulates the rest. On CUDA out-of-memory the worker halves the share and accumulates more, so the global batch stays.',
      ),
    grad_accum: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe(
        'Gradient accumulation steps on one process; with several, the split of the global batch `batch_size x grad_accum` decides them (logged, and in the done record).',
      ),
    gradient_checkpointing: z.boolean().default(false).describe('Trade compute for memory (on for 7B).'),
    bf16: z.enum(['auto', 'on', 'off']).default('auto').describe('bf16 mixed precision; auto = on for CUDA.'),
    precompute_ref_log_probs: z
      .boolean()
      .default(false)
      .describe('Compute reference log-probs once before training (saves memory for full fine-tuning).'),
    max_length: z.number().int().positive().default(1024).describe('Prompt + response tokens kept.'),
    save_steps: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe('Checkpoint every N steps; a restarted job resumes from the last one.'),
    save_total_limit: z
      .number()
      .int()
      .positive()
      .default(2)
      .describe(
        'Checkpoints kept per training job (DPO and SFT, round-<r>/checkpoints/ and the warm-up): the newest N complete ones. An older one is deleted only once a newer one is complete, so a retried job always finds one to resume from; the trained model is published apart from them (round-<r>/models/). A 7B full fine-tuning checkpoint with its optimizer state takes tens of GB (estimate).',
      ),
    full_finetune: z.boolean().default(false).describe('Train all language-model weights instead of a LoRA adapter.'),
    seed: z.number().int().default(0).describe('Training seed.'),
    heldout_pairs: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.05)
      .describe(
        'Share of pairs kept out of training (by seed, so no seed is on both sides) to measure DPO reward accuracy and margin on pairs the policy never saw (ours).',
      ),
  })
  .strict()
  .refine((d) => !d.loss_weights || d.loss_weights.length === (Array.isArray(d.loss_type) ? d.loss_type.length : 1), {
    message: 'loss_weights needs one weight per loss_type',
    path: ['loss_weights'],
  });

/** Examples per warm-up item for each role; 0 leaves the role out. */
export const WarmupRolesSchema = z
  .object({
    answer: z.number().int().min(0).default(1).describe('Answer examples per item: (V, I) → r_ref.'),
    verify: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        "Verifier examples per item, in the recipe's verifier template: responses right, wrong and partly right, judged on the four checks from the synthetic task's ground truth (needs data: synthetic_warmup).",
      ),
    revise: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        "Reviser examples per item, in the recipe's feedback, reference-feedback and refine templates: feedback naming the error of a wrong response, then the refinement (needs data: synthetic_warmup).",
      ),
    compliance: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe(
        "premise task: share of answer examples that follow the instruction's requirement; the rest give the terse reference (a stand-in for an instruction model that sometimes ignores requirements: the knob for the starting compliance).",
      ),
    swapped_references: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'Share of the verifier examples whose reference is another value of the asked kind, judged against that reference. Without them the image alone predicts every verdict, and the verifier learns to judge by what it sees instead of comparing the response with the reference.',
      ),
  })
  .strict();

export const SftSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Warm the initial model up with SFT before round 1 (the demo's stand-in for an instruction-tuned starting model).",
      ),
    data: z
      .enum(['seeds', 'synthetic_warmup'])
      .default('seeds')
      .describe(
        "seeds: the first `max_rows` seed rows' references; synthetic_warmup: the synthetic task's warm-up split, disjoint from the seeds and the evaluation splits.",
      ),
    roles: WarmupRolesSchema.prefault({}).describe(
      "What the warm-up teaches, as examples per item: answering, and the verifier's and reviser's formats.",
    ),
    epochs: z.number().positive().default(3).describe('SFT epochs.'),
    learning_rate: z.number().positive().default(1e-4).describe('SFT learning rate.'),
    batch_size: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe(
        'SFT global batch (rows per optimiser step), also the most rows one device holds at once; split over the training processes like `training.dpo`.',
      ),
    full_finetune: z
      .boolean()
      .default(true)
      .describe('Full fine-tuning (true) or LoRA merged into the weights (false).'),
    train_vision: z
      .boolean()
      .default(false)
      .describe(
        'With full fine-tuning, train the vision tower too (it stays frozen otherwise). For a randomly initialised tiny model, whose vision tower is random features: measured on the premise task, the side of the object is at chance-like 61 % with it frozen and 100 % trained (README, `make demo`). A pretrained tower stays frozen.',
      ),
    lora: LoraSchema.prefault({}).describe('LoRA adapter settings.'),
    max_rows: z.number().int().positive().optional().describe('Use at most this many rows (seeds or warm-up items).'),
  })
  .strict()
  .refine((s) => s.data === 'synthetic_warmup' || (s.roles.verify === 0 && s.roles.revise === 0), {
    message: 'verify and revise examples need ground truth: set data: synthetic_warmup',
    path: ['roles'],
  });

/** Supervised fine-tuning of the policy: the objective of the baselines (`training.objective`). */
export const SupervisedSchema = z
  .object({
    learning_rate: z.number().positive().default(1e-4).describe('Learning rate.'),
    epochs: z.number().positive().default(1).describe('Epochs.'),
    batch_size: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe(
        'Global batch (rows per optimiser step), also the most rows one device holds at once; split over the training processes like `training.dpo` (on CUDA out-of-memory the share is halved and accumulated).',
      ),
  })
  .strict();

export const DistributedSchema = z
  .object({
    strategy: z
      .enum(['auto', 'ddp', 'fsdp'])
      .default('auto')
      .describe(
        'How a train worker with several processes (`ipa worker --gpus 0,1,...`, or `--nodes N` across nodes) shares them: ddp (every process holds the model; LoRA, and any CPU run) or fsdp (full-shard; full fine-tuning only). auto: fsdp for full fine-tuning on CUDA, else ddp. fsdp is tested on 2 CPU processes over gloo; on GPUs (nccl) it is UNTESTED. The global batch stays `batch_size x grad_accum` (SFT: `batch_size`) whatever the process count.',
      ),
    collective_timeout_s: z
      .number()
      .int()
      .positive()
      .default(600)
      .describe(
        'Seconds a process waits in a collective (gradient all-reduce, barrier) for the others before it fails the job; a hung peer then ends the try instead of blocking it. Cover the longest rank-0-only pause (checkpoint save of a full model).',
      ),
  })
  .strict();

export const TrainingSchema = z
  .object({
    objective: z
      .enum(['dpo', 'rft', 'sft_reference', 'sft_oracle'])
      .default('dpo')
      .describe(
        "dpo: IPA (DPO on the pairs); rft: baseline, SFT on the model's own verified responses (rejection-sampling fine-tuning, same samples as IPA); sft_reference: baseline, SFT on the seeds' reference answers (no sampling); sft_oracle: upper bound, SFT on the synthetic task's checker-made ideal answers for the seeds (premise task; the canonical task's ideal answer is its reference). The baselines use training.sft and training.lora.",
      ),
    dpo: DpoSchema.prefault({}).describe('DPO settings (TRL `DPOTrainer`).'),
    lora: LoraSchema.prefault({}).describe(
      'The LoRA adapters every round trains (policy and reviser, by DPO or by the SFT baselines), unless training.dpo.full_finetune; vLLM sizes its LoRA slots by `r`.',
    ),
    sft: SupervisedSchema.prefault({}).describe(
      'SFT settings of the rft and sft_reference objectives (TRL `SFTTrainer`, LoRA as training.lora).',
    ),
    train_reviser: z
      .boolean()
      .default(true)
      .describe('Train a reviser adapter on feedback pairs between rounds (pi_R+).'),
    pairs_from: z
      .enum(['cumulative', 'round'])
      .default('cumulative')
      .describe('The policy after round r learns from pairs of rounds 1..r (cumulative) or of round r only.'),
    adapters_from: z
      .enum(['initial', 'previous'])
      .default('initial')
      .describe("Round r+1 trains fresh adapters on the initial model, or continues the previous round's."),
    reference_model: z
      .enum(['initial', 'round_start'])
      .default('initial')
      .describe("DPO reference: the initial model, or the round's starting point."),
    report_to: z
      .union([z.literal('none'), Tracker, z.array(Tracker)])
      .default('none')
      .describe(
        'Experiment trackers that receive the training metrics of every trainer (DPO of the policy and the reviser, SFT warm-up) and the evaluation results, under the run name `<run id>-r<round>-<model>`, with the recipe as config: TRL `report_to`. Where each writes: docs/evaluation.md, "Experiment tracking".',
      ),
    distributed: DistributedSchema.prefault({}).describe('Training on several processes (DPO and the SFT warm-up).'),
  })
  .strict();

export const EvalBenchmarkSchema = z
  .object({
    name: z.string().min(1).describe('Benchmark name in reports.'),
    path: pathField('file').describe(
      'JSONL rows: image, question, answer, metric (exact | yesno | contains | anls), optional task_type.',
    ),
    max_rows: z.number().int().positive().optional().describe('Evaluate at most this many rows.'),
  })
  .strict();

/** lmms-eval's Qwen2-VL model backends (`--model`). */
export const LMMS_EVAL_MODELS = ['qwen2_vl', 'qwen2_5_vl'] as const;

export const LmmsEvalSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Run lmms-eval on the policy at every evaluation (`eval.after`), round 0 included, so the starting model is the baseline. Needs lmms-eval in the worker environment (the lock has it).',
      ),
    tasks: z
      .array(pathField('file', { orName: true, local: true }))
      .default([])
      .describe(
        'lmms-eval task or group names (`python -m lmms_eval --tasks list`), or paths of task YAML files: a path (it has a `/`, or ends in .yaml) must lie inside the allowed roots like `include_path`, since lmms-eval runs the Python a task file names. A task that downloads its dataset needs the Hugging Face Hub or a filled `HF_HOME` (docs/evaluation.md).',
      ),
    model: z
      .enum(LMMS_EVAL_MODELS)
      .default('qwen2_vl')
      .describe('lmms-eval model backend: qwen2_vl for Qwen2-VL checkpoints, qwen2_5_vl for Qwen2.5-VL.'),
    batch_size: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('Prompts per generate call in lmms-eval (the worker halves it on CUDA out-of-memory).'),
    limit: z
      .number()
      .positive()
      .optional()
      .describe(
        'Evaluate at most this many documents per task (below 1: that fraction). For smoke tests: numbers on part of a task are not comparable with published ones.',
      ),
    num_fewshot: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "Few-shot examples per prompt (`--num_fewshot`); default: each task's own setting (the paper's benchmarks are zero-shot).",
      ),
    include_path: pathField('dir', { local: true })
      .optional()
      .describe(
        'A folder of your own task YAMLs (`--include_path`). `python -m ipa_worker.tools.lmms_task` writes one from local benchmark files. A task there needs a name of its own: a built-in task of the same name wins.',
      ),
    metrics: z
      .record(z.string(), z.string().min(1))
      .default({})
      .describe(
        'The headline metric of a task or group in tables and comparisons, e.g. `{mmstar: average}` (default: the first metric lmms-eval reports for it).',
      ),
  })
  .strict()
  .refine((l) => !l.enabled || l.tasks.length > 0, {
    message: 'lmms-eval is enabled but tasks is empty',
    path: ['tasks'],
  });

export const EvalSchema = z
  .object({
    benchmarks: z
      .array(EvalBenchmarkSchema)
      .default([])
      .describe('Local benchmarks (the synthetic held-out split is added when `data.synthetic.enabled`).'),
    max_new_tokens: z.number().int().positive().default(32).describe('Greedy answer budget.'),
    batch_size: z.number().int().positive().default(16).describe('Items per generate call.'),
    after: z
      .enum(['every_round', 'final', 'none'])
      .default('every_round')
      .describe(
        'Evaluate the initial model and the policy after each round, the initial and the final one only, or never.',
      ),
    min_warmup_fact_accuracy: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'premise task: the warm-up gate. Round 0 also scores the validation split, and below this fact accuracy the run says it cannot judge the premise (perception, not form, would limit every variant) and its comparisons do not count.',
      ),
    lmms_eval: LmmsEvalSchema.prefault({}).describe(
      'lmms-eval as a second evaluation backend (public benchmarks such as POPE, MME, MMStar), on the same rounds as the local benchmarks.',
    ),
    compare_with_paper: z
      .boolean()
      .default(false)
      .describe(
        "Show the paper's Qwen2-VL-7B figures (baseline → IPA) beside the benchmarks they cover, in `ipa status`, the report and the dashboard (orchestrator/report/paper-benchmarks.json).",
      ),
  })
  .strict()
  .refine((e) => !e.lmms_eval.tasks.some((t) => t === 'synthetic' || e.benchmarks.some((b) => b.name === t)), {
    message:
      'an lmms-eval task has the name of a local benchmark (or "synthetic"): results are keyed by name, so rename one',
    path: ['lmms_eval', 'tasks'],
  });

export const OrchestrationSchema = z
  .object({
    attempts: z.number().int().positive().default(3).describe('Tries per job before it fails (crashes, lost workers).'),
    backoff_ms: z.number().int().min(0).default(2000).describe('First retry delay; doubles on each try.'),
    concurrency: z
      .object({
        sample: z
          .number()
          .int()
          .positive()
          .default(1)
          .describe('Jobs of the sample queue running at once across all workers.'),
        verify: z
          .number()
          .int()
          .positive()
          .default(1)
          .describe('Jobs of the verify queue running at once across all workers.'),
        revise: z
          .number()
          .int()
          .positive()
          .default(1)
          .describe('Jobs of the revise queue running at once across all workers.'),
        train: z
          .number()
          .int()
          .positive()
          .default(1)
          .describe('Jobs of the train queue running at once across all workers.'),
        eval: z
          .number()
          .int()
          .positive()
          .default(1)
          .describe('Jobs of the eval queue running at once across all workers.'),
      })
      .strict()
      .prefault({})
      .describe('Global concurrency per queue (models the GPUs of the fleet).'),
  })
  .strict();

export const RecipeSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"')
      .describe('Run name prefix.'),
    seed: z
      .number()
      .int()
      .default(0)
      .describe('Run seed: every sampled response derives its seed from (run seed, seed id, sample index).'),
    runs_dir: pathField('none').default('runs').describe('Where run directories are created (relative to the recipe).'),
    allowed_roots: rootsField()
      .default([])
      .describe(
        "Extra folders recipe paths (and image paths in seed rows) may point into, besides the recipe's folder and the repository holding it. The validated recipe lists every root in effect.",
      ),
    model: ModelSchema.describe('The initial model (pi_0) and how it is loaded.'),
    data: DataSchema.prefault({}).describe('Seed data: sources, the synthetic task, sharding and per-row limits.'),
    generation: GenerationSchema.prefault({}).describe(
      'The engine every role generates with (one per worker process).',
    ),
    sampling: SamplingSchema.prefault({}).describe(
      "Response sampling: K normal and K' contrastive responses per seed.",
    ),
    verifier: VerifierSchema.prefault({}).describe('How responses are judged (pi_V).'),
    reviser: ReviserSchema.prefault({}).describe('Feedback and refinement of failed responses (pi_R).'),
    pairs: PairsSchema.prefault({}).describe('How preference pairs are built from the verdicts.'),
    rounds: z
      .array(RoundSchema)
      .min(1)
      .max(10)
      .prefault([
        { name: 'automated' },
        { name: 'self-evolution' },
        { name: 'reference-guided', reference_guided: true },
      ])
      .describe("What each round does; the default is the paper's three rounds."),
    warmup: z
      .object({ sft: SftSchema.prefault({}).describe('Supervised warm-up on the reference answers.') })
      .strict()
      .prefault({})
      .describe('Optional steps before round 1.'),
    training: TrainingSchema.prefault({}).describe('Preference training after each round.'),
    eval: EvalSchema.prefault({}).describe("Evaluation of the initial model and of each round's policy."),
    orchestration: OrchestrationSchema.prefault({}).describe(
      'Retries and concurrency of the job queues (lock and stall timing are per worker: `ipa worker --lock-ms/--stalled-ms`).',
    ),
  })
  .strict();

/** A recipe as written (defaults optional). */
export type RecipeInput = z.input<typeof RecipeSchema>;
/** A validated recipe with every default filled in and paths absolute. */
export type Recipe = z.output<typeof RecipeSchema>;
export type Round = z.output<typeof RoundSchema>;
export type Perturbation = z.output<typeof PerturbationSchema>;
