/**
 * The memory plan of a worker: from the model's config.json, the recipe and the card's memory,
 * what one GPU holds (weights once, adapters, the engine's share, KV cache, activations) and
 * whether it fits. `ipa worker` prints it at start and refuses a plan that cannot fit, naming
 * the setting to change; docs/deployment.md's table for Qwen2-VL-7B is this function's output.
 *
 * Computed, not measured: exact for weights and adapters (parameter counts from the config), an
 * ESTIMATE for activations and overheads (each item says how it is counted). A generation
 * worker holds one engine (every role on one base: the worker's `models/engines.py`); a train
 * worker's job runs in a fresh process after the inference process has stopped, so a worker
 * serving both holds one plan or the other, never both.
 */
import type { Recipe } from '../recipe/schema.js';

export const GiB = 1024 ** 3;

/** The architecture fields of a Qwen2-VL / Qwen2.5-VL config.json that memory depends on. */
export interface ModelShape {
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  tiedEmbeddings: boolean;
  /** `gated`: a SwiGLU MLP of three matrices (Qwen2.5-VL) rather than two (Qwen2-VL). */
  vision: {
    depth: number;
    embed: number;
    mlpHidden: number;
    gated: boolean;
    patch: number;
    merge: number;
    temporalPatch: number;
    inChannels: number;
    outHidden: number;
  };
}

const num = (o: Record<string, unknown>, k: string, fallback?: number): number => {
  const v = o[k] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`config.json: ${k} is missing or not a number`);
  return v;
};

/**
 * The shape of a checkpoint from its config.json (fields at the top level or under text_config).
 * Qwen2-VL's vision config names its width `embed_dim` and the merger's output `hidden_size`;
 * Qwen2.5-VL's names them `hidden_size` and `out_hidden_size`.
 */
export function modelShape(config: Record<string, unknown>): ModelShape {
  const text = { ...config, ...((config.text_config as Record<string, unknown>) ?? {}) };
  const v = (config.vision_config as Record<string, unknown>) ?? {};
  const hidden = num(text, 'hidden_size');
  const heads = num(text, 'num_attention_heads');
  const qwen25 = typeof v.out_hidden_size === 'number';
  const embed = qwen25 ? num(v, 'hidden_size') : num(v, 'embed_dim');
  return {
    vocab: num(text, 'vocab_size'),
    hidden,
    intermediate: num(text, 'intermediate_size'),
    layers: num(text, 'num_hidden_layers'),
    heads,
    kvHeads: num(text, 'num_key_value_heads', heads),
    headDim: num(text, 'head_dim', hidden / heads),
    tiedEmbeddings: Boolean(config.tie_word_embeddings ?? text.tie_word_embeddings ?? false),
    vision: {
      depth: num(v, 'depth'),
      embed,
      mlpHidden: typeof v.intermediate_size === 'number' ? v.intermediate_size : embed * num(v, 'mlp_ratio', 4),
      gated: qwen25,
      patch: num(v, 'patch_size', 14),
      merge: num(v, 'spatial_merge_size', 2),
      temporalPatch: num(v, 'temporal_patch_size', 2),
      inChannels: num(v, 'in_channels', 3),
      outHidden: qwen25 ? num(v, 'out_hidden_size') : num(v, 'hidden_size', hidden),
    },
  };
}

/** In and out widths of each linear module of one language-model layer (what LoRA can target). */
function layerLinears(s: ModelShape): Record<string, [number, number]> {
  const kv = s.kvHeads * s.headDim;
  const q = s.heads * s.headDim;
  return {
    q_proj: [s.hidden, q],
    k_proj: [s.hidden, kv],
    v_proj: [s.hidden, kv],
    o_proj: [q, s.hidden],
    gate_proj: [s.hidden, s.intermediate],
    up_proj: [s.hidden, s.intermediate],
    down_proj: [s.intermediate, s.hidden],
  };
}

/**
 * Parameters of the checkpoint: language model (embedding and LM head included) and vision tower.
 * Exact for Qwen2-VL (tested against transformers); for Qwen2.5-VL the gated vision MLP is
 * counted, its bias-free norms as Qwen2-VL's (some thousands of parameters apart).
 */
export function paramCounts(s: ModelShape): { language: number; vision: number; total: number } {
  const kv = s.kvHeads * s.headDim;
  const q = s.heads * s.headDim;
  const attention = s.hidden * q + q + 2 * (s.hidden * kv + kv) + q * s.hidden; // q, k, v carry biases; o none
  const layer = attention + 3 * s.hidden * s.intermediate + 2 * s.hidden;
  const language = s.vocab * s.hidden * (s.tiedEmbeddings ? 1 : 2) + s.layers * layer + s.hidden;
  const v = s.vision;
  const mlp = v.gated
    ? 3 * v.embed * v.mlpHidden + 2 * v.mlpHidden + v.embed
    : 2 * v.embed * v.mlpHidden + v.mlpHidden + v.embed;
  const block = 4 * v.embed + (3 * v.embed * v.embed + 3 * v.embed) + (v.embed * v.embed + v.embed) + mlp;
  const merged = v.embed * v.merge * v.merge;
  const merger = 2 * v.embed + (merged * merged + merged) + (merged * v.outHidden + v.outHidden);
  const vision = v.inChannels * v.temporalPatch * v.patch * v.patch * v.embed + v.depth * block + merger;
  return { language, vision, total: language + vision };
}

/** LoRA parameters of one adapter of rank `r` on `targets` of every language-model layer. */
export function loraParams(s: ModelShape, r: number, targets: readonly string[]): number {
  const lin = layerLinears(s);
  return s.layers * targets.reduce((a, t) => a + (lin[t] ? r * (lin[t][0] + lin[t][1]) : 0), 0);
}

/** KV cache bytes one token takes: keys and values of every layer. */
export function kvBytesPerToken(s: ModelShape, bytes: number): number {
  return 2 * s.layers * s.kvHeads * s.headDim * bytes;
}

export interface Card {
  name: string;
  bytes: number;
}

export interface MemoryItem {
  what: string;
  bytes: number;
  /** How the number is counted (and "estimate" where it is one). */
  how: string;
}

export interface MemoryPlan {
  /** `generation (hf)`, `generation (vllm)`, `train (LoRA DPO)`, ... */
  part: string;
  card: Card;
  items: MemoryItem[];
  /** What the card holds at the part's peak. */
  total: number;
  fits: boolean;
  /** Why it does not fit, with the numbers and the setting to change. */
  problem?: string;
  /** Extra facts worth a line (vLLM: sequences of max_model_len the KV cache holds). */
  notes: string[];
}

/** Fixed overheads (ours, estimates): the CUDA context, cuBLAS workspaces and allocator slack. */
export const CUDA_OVERHEAD = 1 * GiB;
/** The hf backend keeps at most this many adapters beside its base (workers/ipa_worker/models/hf_engine.py). */
export const HF_MAX_ADAPTERS = 4;
/** vLLM keeps this many LoRA slots on the card (`max_loras`, workers/ipa_worker/models/vllm_engine.py). */
export const VLLM_MAX_LORAS = 2;
const VLLM_RANK_SLOTS = [1, 8, 16, 32, 64, 128, 256, 320, 512];
/** Instruction and reference tokens assumed per prompt where the run's data is not known (ours). */
export const TEXT_ALLOWANCE = 512;
/** Role template tokens around what a prompt quotes (the packaged templates are under 200; ours). */
export const TEMPLATE_ALLOWANCE = 256;

const dtypeBytes = (recipe: Recipe): number => (recipe.model.dtype === 'float32' ? 4 : 2);
const fmt = (n: number) => n.toLocaleString('en-US');

/** Visual tokens of one image at `model.max_pixels` (smart_resize keeps height x width under it). */
export function tokensPerImage(recipe: Recipe, s: ModelShape): number {
  const unit = s.vision.patch * s.vision.merge;
  return Math.floor(recipe.model.max_pixels / (unit * unit));
}

/**
 * The longest sequence a generation job needs: `generation.vllm.max_model_len` when set, else the
 * worker's own bound (models/run_limits.py) with `imagesPerPrompt` images and TEXT_ALLOWANCE
 * tokens of instruction and reference standing in for the run's data.
 */
export function sequenceBound(recipe: Recipe, s: ModelShape, imagesPerPrompt = 1): number {
  if (recipe.generation.vllm.max_model_len) return recipe.generation.vllm.max_model_len;
  const quoted = recipe.sampling.max_new_tokens + recipe.reviser.max_new_tokens;
  const generated = Math.max(
    recipe.sampling.max_new_tokens,
    recipe.reviser.max_new_tokens,
    recipe.verifier.max_new_tokens,
    recipe.eval.max_new_tokens,
  );
  return imagesPerPrompt * (tokensPerImage(recipe, s) + 2) + TEXT_ALLOWANCE + TEMPLATE_ALLOWANCE + quoted + generated;
}

/** Bytes of one layer's transient activations over `tokens` tokens (norm inputs, q/k/v/o, the MLP's three intermediates). */
function layerActivations(s: ModelShape, tokens: number, bytes: number): number {
  return tokens * (6 * s.hidden + 4 * s.intermediate) * bytes;
}

/** The vision tower's transient activations for `images` images at max_pixels (its MLP intermediates dominate). */
function visionActivations(recipe: Recipe, s: ModelShape, images: number, bytes: number): number {
  const patches = tokensPerImage(recipe, s) * s.vision.merge * s.vision.merge;
  return images * patches * (3 * s.vision.mlpHidden + 6 * s.vision.embed) * bytes;
}

function finish(part: string, card: Card, items: MemoryItem[], notes: string[], problem?: string): MemoryPlan {
  const total = items.reduce((a, i) => a + i.bytes, 0);
  const over = total > card.bytes;
  const why = problem ?? (over ? `needs ${gib(total)} of ${card.name}'s ${gib(card.bytes)}` : undefined);
  return { part, card, items, total, fits: !why, problem: why, notes };
}

export const gib = (b: number): string => `${(b / GiB).toFixed(1)} GiB`;

/** The rounds after the first that sample and revise with trained adapters. */
const evolves = (recipe: Recipe): boolean => recipe.rounds.some((r, i) => i > 0 && (r.self_evolve ?? true));

function hfGeneration(recipe: Recipe, s: ModelShape, card: Card): MemoryPlan {
  const bytes = dtypeBytes(recipe);
  const p = paramCounts(s);
  const seq = sequenceBound(recipe, s);
  const batch = Math.max(recipe.sampling.batch_size, recipe.eval.batch_size);
  const lora = loraParams(s, recipe.training.lora.r, recipe.training.lora.target_modules);
  const adapters = evolves(recipe) && !recipe.training.dpo.full_finetune ? HF_MAX_ADAPTERS : 0;
  const lm = layerActivations(s, batch * seq, bytes) + batch * s.vocab * 4 * 2;
  const vision = visionActivations(recipe, s, batch, bytes);
  const items: MemoryItem[] = [
    {
      what: 'base weights (once)',
      bytes: p.total * bytes,
      how: `${fmt(p.total)} parameters x ${bytes} B: every role on one base`,
    },
    {
      what: 'LoRA adapters',
      bytes: adapters * lora * 4,
      how: `up to ${adapters} adapters (generator, reviser, the previous round's) x ${fmt(lora)} parameters x 4 B (PEFT keeps them in fp32)`,
    },
    {
      what: 'KV cache',
      bytes: batch * seq * kvBytesPerToken(s, bytes),
      how: `batch ${batch} x ${fmt(seq)} tokens x ${fmt(kvBytesPerToken(s, bytes))} B per token`,
    },
    {
      what: 'activations',
      bytes: Math.max(lm, vision),
      how: `estimate: the larger of one layer's prefill over ${batch} x ${fmt(seq)} tokens with the last token's fp32 logits, and the vision tower over ${batch} images`,
    },
    { what: 'CUDA context and allocator slack', bytes: CUDA_OVERHEAD, how: 'estimate (ours)' },
  ];
  const plan = finish('generation (hf)', card, items, []);
  if (!plan.fits)
    plan.problem = `${plan.problem}: lower sampling.batch_size and eval.batch_size (${batch} now), or model.max_pixels (${fmt(recipe.model.max_pixels)}: ${fmt(tokensPerImage(recipe, s))} visual tokens per image)`;
  return plan;
}

/** vLLM 0.32's offline defaults (vllm/engine/arg_utils.py): larger on H100-class cards (>= 70 GiB). */
function vllmDefaults(card: Card): { batchedTokens: number; maxSeqs: number } {
  return card.bytes >= 70 * GiB ? { batchedTokens: 16384, maxSeqs: 1024 } : { batchedTokens: 8192, maxSeqs: 256 };
}

function vllmGeneration(recipe: Recipe, s: ModelShape, card: Card): MemoryPlan {
  const bytes = dtypeBytes(recipe);
  const p = paramCounts(s);
  const util = recipe.generation.vllm.gpu_memory_utilization;
  const share = util * card.bytes;
  const seq = sequenceBound(recipe, s);
  const slot = VLLM_RANK_SLOTS.find((r) => r >= recipe.training.lora.r) ?? recipe.training.lora.r;
  const { batchedTokens, maxSeqs } = vllmDefaults(card);
  const weights = p.total * bytes;
  const loras = VLLM_MAX_LORAS * loraParams(s, slot, recipe.training.lora.target_modules) * bytes;
  const activations =
    Math.max(
      layerActivations(s, batchedTokens, bytes),
      visionActivations(recipe, s, Math.max(1, Math.floor(batchedTokens / tokensPerImage(recipe, s))), bytes),
    ) +
    maxSeqs * s.vocab * 4 * 2 +
    1 * GiB;
  const kv = share - weights - loras - activations;
  const perToken = kvBytesPerToken(s, bytes);
  const sequences = Math.max(0, Math.floor(kv / perToken / seq));
  const items: MemoryItem[] = [
    {
      what: 'base weights (once)',
      bytes: weights,
      how: `${fmt(p.total)} parameters x ${bytes} B, inside the engine's share: every role a LoRA request on one base`,
    },
    {
      what: 'LoRA slots',
      bytes: loras,
      how: `${VLLM_MAX_LORAS} slots of rank ${slot} (training.lora.r ${recipe.training.lora.r}) in the model's dtype`,
    },
    {
      what: 'engine activations and CUDA graphs',
      bytes: activations,
      how: `estimate: one layer over vLLM's ${fmt(batchedTokens)} batched tokens (or the vision tower on as many image tokens), ${fmt(maxSeqs)} sequences' fp32 logits, 1 GiB of CUDA graphs`,
    },
    {
      what: 'KV cache',
      bytes: Math.max(0, kv),
      how: `the rest of the share (${util} x ${gib(card.bytes)}): ${fmt(Math.max(0, Math.floor(kv / perToken)))} tokens`,
    },
    { what: 'CUDA context and allocator slack (outside the share)', bytes: CUDA_OVERHEAD, how: 'estimate (ours)' },
  ];
  const notes = [`the KV cache holds ${fmt(sequences)} sequences of ${fmt(seq)} tokens at once`];
  let problem: string | undefined;
  if (kv < perToken * seq) {
    problem = `the engine's share (${util} x ${gib(card.bytes)} = ${gib(share)}) leaves ${gib(Math.max(0, kv))} for the KV cache, less than one sequence of ${fmt(seq)} tokens (${gib(perToken * seq)}): raise generation.vllm.gpu_memory_utilization, or lower generation.vllm.max_model_len or model.max_pixels`;
  } else if (share + CUDA_OVERHEAD > card.bytes) {
    problem = `the engine's share (${util} x ${gib(card.bytes)}) and the CUDA context need ${gib(share + CUDA_OVERHEAD)} of ${gib(card.bytes)}: lower generation.vllm.gpu_memory_utilization`;
  }
  return finish('generation (vllm)', card, items, notes, problem);
}

function train(recipe: Recipe, s: ModelShape, card: Card, processes: number): MemoryPlan {
  const bytes = dtypeBytes(recipe);
  const p = paramCounts(s);
  const dpo = recipe.training.dpo;
  const tokens = 2 * dpo.batch_size * dpo.max_length; // chosen and rejected of each pair
  const items: MemoryItem[] = [];
  if (dpo.full_finetune) {
    const shard = processes > 1 ? ` / ${processes} processes (FSDP full-shard)` : '';
    items.push(
      {
        what: 'policy weights, gradients and Adam state',
        bytes: (p.total * (bytes + bytes + 8)) / processes,
        how: `${fmt(p.total)} parameters x (${bytes} + ${bytes} + 8) B${shard}`,
      },
      {
        what: 'reference model',
        bytes: (p.total * bytes) / processes,
        how: `a second copy of the weights${shard} (TRL computes image datasets' reference log-probs on the fly)`,
      },
    );
  } else {
    const lora = loraParams(s, recipe.training.lora.r, recipe.training.lora.target_modules);
    items.push(
      {
        what: 'base weights (once)',
        bytes: p.total * bytes,
        how: `${fmt(p.total)} parameters x ${bytes} B; the DPO reference is the same base with the adapter off`,
      },
      {
        what: 'adapter, gradients and Adam state',
        bytes: lora * 16,
        how: `${fmt(lora)} LoRA parameters x 16 B (fp32 weight, gradient, two moments)`,
      },
    );
  }
  const saved = dpo.gradient_checkpointing ? tokens * s.hidden * bytes * s.layers : 0;
  const live = dpo.gradient_checkpointing
    ? layerActivations(s, tokens, bytes)
    : layerActivations(s, tokens, bytes) * s.layers;
  items.push(
    {
      what: 'activations',
      bytes: saved + live,
      how: `estimate: ${fmt(tokens)} tokens (2 x training.dpo.batch_size ${dpo.batch_size} x max_length ${fmt(dpo.max_length)}); ${dpo.gradient_checkpointing ? "each layer's input kept, one layer's intermediates live" : "every layer's intermediates kept (gradient_checkpointing off)"}; TRL's chunked LM head never holds the full logits`,
    },
    { what: 'CUDA context and allocator slack', bytes: CUDA_OVERHEAD, how: 'estimate (ours)' },
  );
  const plan = finish(`train (${dpo.full_finetune ? 'full DPO' : 'LoRA DPO'})`, card, items, []);
  if (!plan.fits)
    plan.problem = `${plan.problem}: lower training.dpo.batch_size (${dpo.batch_size}) or max_length (${dpo.max_length})${dpo.gradient_checkpointing ? '' : ', or turn on training.dpo.gradient_checkpointing'}`;
  return plan;
}

const GENERATION_QUEUES = new Set(['sample', 'verify', 'revise', 'eval']);

/**
 * The plans of a worker serving `queues` on `card`: its generation process (the recipe's
 * backend) and its training process, each alone on the card (the agent stops one before the other).
 */
export function memoryPlans(
  recipe: Recipe,
  shape: ModelShape,
  card: Card,
  queues: readonly string[],
  trainProcesses = 1,
): MemoryPlan[] {
  const plans: MemoryPlan[] = [];
  if (queues.some((q) => GENERATION_QUEUES.has(q)))
    plans.push(
      recipe.generation.backend === 'vllm' ? vllmGeneration(recipe, shape, card) : hfGeneration(recipe, shape, card),
    );
  if (queues.includes('train')) plans.push(train(recipe, shape, card, trainProcesses));
  return plans;
}

/** A plan as lines a person reads: the items, the total against the card, and what to change. */
export function planLines(plan: MemoryPlan): string[] {
  const head = `${plan.part} on ${plan.card.name} (${gib(plan.card.bytes)}): ${gib(plan.total)} at its peak — ${plan.fits ? 'fits' : 'DOES NOT FIT'}`;
  const width = Math.max(...plan.items.map((i) => i.what.length));
  return [
    head,
    ...plan.items.map((i) => `  ${i.what.padEnd(width)}  ${gib(i.bytes).padStart(9)}  ${i.how}`),
    ...plan.notes.map((n) => `  (${n})`),
    ...(plan.problem ? [`  cannot fit: ${plan.problem}`] : []),
  ];
}
