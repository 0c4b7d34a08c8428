"""Throughput and memory figures for the Qwen2-VL-7B architecture, with random weights.

`python -m ipa_worker.tools.gpu_check [--config 7b|tiny] [--out FILE.json] ...`

Nothing is downloaded: the model is built from the published Qwen2-VL-7B-Instruct configuration
(written out below) with random weights, the text is random token ids, and the images go through
the real Qwen2-VL image processor. Random weights cost the same FLOPs and memory as trained ones,
so the figures say what a GPU can do for the sample and train stages of a round:

1. batched generation with transformers (one image per sequence): new tokens per second;
2. DPO steps with a LoRA adapter and gradient checkpointing (policy forward + backward, reference
   forward with the adapter disabled, the sigmoid DPO loss): step time, tokens per second, peak
   memory and model FLOPs utilisation against the card's dense bf16 peak;
3. the same generation through vLLM, when vLLM is installed and a GPU is present.

`--config tiny` builds a few-MB model of the same class so the whole script runs on a CPU in seconds.
"""
from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..contract import recipe_defaults

# Special token ids of the Qwen2 tokenizer, shared by Qwen2-VL and Qwen2.5-VL.
QWEN_IDS = {
    "bos": 151643,  # <|endoftext|>
    "im_start": 151644,
    "eos": 151645,  # <|im_end|>
    "vision_start": 151652,
    "vision_end": 151653,
    "image_pad": 151655,
    "video_pad": 151656,
}

# Qwen2-VL-7B-Instruct's config.json, as published (text model = Qwen2-7B; vision = 675M ViT).
QWEN2VL_7B_TEXT = dict(
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    hidden_act="silu",
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    use_sliding_window=False,
    sliding_window=32768,
    max_window_layers=28,
    attention_dropout=0.0,
    # head_dim 128 -> 64 rotary frequencies split over (time, height, width).
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
    bos_token_id=QWEN_IDS["bos"],
    eos_token_id=QWEN_IDS["eos"],
)
QWEN2VL_7B_VISION = dict(
    depth=32,
    embed_dim=1280,
    hidden_size=3584,  # the merger projects into the language model's width
    hidden_act="quick_gelu",
    mlp_ratio=4,
    num_heads=16,
    in_channels=3,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
)

# Same class, a few MB: the special ids move inside the small vocabulary.
TINY_VOCAB = 1024
TINY_IDS = {k: TINY_VOCAB - 16 + i for i, k in enumerate(QWEN_IDS)}
TINY_TEXT = dict(
    vocab_size=TINY_VOCAB,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    hidden_act="silu",
    max_position_embeddings=4096,
    rms_norm_eps=1e-6,
    use_sliding_window=False,
    # head_dim 16 -> 8 rotary frequencies.
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
    bos_token_id=TINY_IDS["bos"],
    eos_token_id=TINY_IDS["eos"],
)
TINY_VISION = dict(
    depth=2, embed_dim=32, hidden_size=64, hidden_act="quick_gelu", mlp_ratio=2, num_heads=2,
    in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
)

# Qwen2-VL's CLIP normalisation (preprocessor_config.json).
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, matched against torch's device name in order.
BF16_PEAK_TFLOPS = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM / HBM3
    ("H200", 989.0),
    ("GH200", 989.0),
    ("A100", 312.0),
]

# The DPO the recipes run by default (training.dpo: LoRA settings, beta, learning rate).
DPO = recipe_defaults()["training"]["dpo"]


@dataclass
class Scale:
    """Workload sizes; the defaults per config are in `DEFAULTS`."""

    gen_batch: int
    new_tokens: int
    prompt_text: int
    dpo_steps: int
    dpo_pairs: int
    seq_len: int
    image_side: int


DEFAULTS = {
    # ~1k tokens and one 448x448 image per sequence, as a 7B IPA pair is.
    "7b": Scale(gen_batch=32, new_tokens=128, prompt_text=64, dpo_steps=4, dpo_pairs=2, seq_len=1024, image_side=448),
    "tiny": Scale(gen_batch=4, new_tokens=8, prompt_text=8, dpo_steps=2, dpo_pairs=2, seq_len=64, image_side=56),
}


def build_config(name: str):
    from transformers import Qwen2VLConfig

    text, vision, ids = (QWEN2VL_7B_TEXT, QWEN2VL_7B_VISION, QWEN_IDS) if name == "7b" else (TINY_TEXT, TINY_VISION, TINY_IDS)
    return Qwen2VLConfig(
        text_config=dict(text),
        vision_config=dict(vision),
        image_token_id=ids["image_pad"],
        video_token_id=ids["video_pad"],
        vision_start_token_id=ids["vision_start"],
        vision_end_token_id=ids["vision_end"],
        tie_word_embeddings=False,
    ), ids


def image_processor(side: int):
    """The real Qwen2-VL processor, bounded so a `side` x `side` image keeps its size."""
    try:
        import torchvision  # noqa: F401  (the fast processor needs it)
        from transformers import Qwen2VLImageProcessor as Proc
    except ImportError:
        from transformers import Qwen2VLImageProcessorPil as Proc
    px = side * side
    return Proc(min_pixels=px, max_pixels=px, patch_size=14, merge_size=2, temporal_patch_size=2,
                image_mean=IMAGE_MEAN, image_std=IMAGE_STD)


def random_images(n: int, side: int, rng: np.random.Generator) -> list[Image.Image]:
    return [Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) for _ in range(n)]


def encode_images(proc, images: list[Image.Image], device, dtype):
    out = proc(images=images, return_tensors="pt")
    grid = out["image_grid_thw"]
    merge = proc.merge_size if hasattr(proc, "merge_size") else 2
    tokens_per_image = int(grid[0].prod().item()) // (merge * merge)
    return out["pixel_values"].to(device, dtype), grid.to(device), tokens_per_image


def prompt_ids(rng: np.random.Generator, ids: dict, n_text: int, n_image: int, vocab_text: int) -> list[int]:
    """`<|im_start|>` text `<|vision_start|>` image pads `<|vision_end|>` text, random words."""
    half = n_text // 2
    words = lambda k: rng.integers(0, vocab_text, k).tolist()  # noqa: E731
    return [ids["im_start"], *words(half), ids["vision_start"], *[ids["image_pad"]] * n_image, ids["vision_end"], *words(n_text - half)]


def model_inputs(model, input_ids: torch.Tensor, ids: dict, pixels: torch.Tensor, grid: torch.Tensor) -> dict:
    """What the processor would hand the model; `mm_token_type_ids` (0 text, 1 image) only where
    this transformers' forward takes it (newer releases need it for M-RoPE, older reject it)."""
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "pixel_values": pixels, "image_grid_thw": grid}
    if "mm_token_type_ids" in inspect.signature(model.forward).parameters:
        batch["mm_token_type_ids"] = (input_ids == ids["image_pad"]).to(torch.int32)
    return batch


def device_info() -> dict[str, Any]:
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        return {"kind": "cuda", "name": p.name, "memory_bytes": int(p.total_memory), "count": torch.cuda.device_count()}
    return {"kind": "cpu", "name": "cpu", "threads": torch.get_num_threads()}


def bf16_peak_tflops(name: str) -> float | None:
    for key, peak in BF16_PEAK_TFLOPS:
        if key.lower() in name.lower():
            return peak
    return None


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def reset_peak(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)


def peak_memory(dev: torch.device) -> tuple[int, str]:
    if dev.type == "cuda":
        return int(torch.cuda.max_memory_allocated(dev)), "cuda_max_memory_allocated"
    # Linux reports kilobytes; the process's high-water mark is the best CPU analogue.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "process_max_rss"


def count_params(model) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    vision = sum(p.numel() for n, p in model.named_parameters() if ".visual." in f".{n}")
    embed = model.get_input_embeddings().weight.numel()
    return {"total": total, "vision": vision, "language": total - vision, "language_matmul": total - vision - embed}


def lm_forward_flops(cfg, params_matmul: int, tokens: int, seq_len: int) -> float:
    """Forward FLOPs of the language model on `tokens` tokens in sequences of `seq_len`:
    2 per weight per token for the matmuls (lm_head included) plus causal attention's
    QK^T and AV (2 * 2 * layers * hidden * seq / 2 per token)."""
    t = cfg.text_config
    return 2.0 * params_matmul * tokens + 2.0 * t.num_hidden_layers * t.hidden_size * seq_len * tokens


def vision_forward_flops(params_vision: int, patches: int) -> float:
    return 2.0 * params_vision * patches


def measure_generation(model, proc, ids, scale: Scale, vocab_text: int, dev, dtype, rng) -> dict[str, Any]:
    b = scale.gen_batch
    pixels, grid, n_img = encode_images(proc, random_images(b, scale.image_side, rng), dev, dtype)
    rows = [prompt_ids(rng, ids, scale.prompt_text, n_img, vocab_text) for _ in range(b)]
    input_ids = torch.tensor(rows, device=dev)
    kw = dict(
        **model_inputs(model, input_ids, ids, pixels, grid),
        # Greedy and a fixed length: random weights would otherwise stop early or sample NaNs.
        do_sample=False, max_new_tokens=scale.new_tokens, min_new_tokens=scale.new_tokens,
        pad_token_id=ids["eos"], eos_token_id=ids["eos"],
    )
    with torch.inference_mode():
        model.generate(**{**kw, "max_new_tokens": 2, "min_new_tokens": 2})  # warm-up: kernels, allocator
        reset_peak(dev)
        sync(dev)
        t0 = time.perf_counter()
        out = model.generate(**kw)
        sync(dev)
        dt = time.perf_counter() - t0
    new = (out.shape[1] - input_ids.shape[1]) * b
    mem, mem_kind = peak_memory(dev)
    return {
        "backend": "hf", "batch": b, "prompt_tokens": input_ids.shape[1], "image_tokens": n_img,
        "new_tokens_per_seq": out.shape[1] - input_ids.shape[1], "seconds": dt, "tokens_per_s": new / dt,
        "peak_memory_bytes": mem, "peak_memory_kind": mem_kind,
    }


def response_logps(model, batch: dict, resp_len: int) -> torch.Tensor:
    """Sum of log-probs of the last `resp_len` tokens of each sequence."""
    out = model(**batch, logits_to_keep=resp_len + 1, use_cache=False)
    logits = out.logits[:, :-1, :].float()
    target = batch["input_ids"][:, -resp_len:]
    return torch.gather(logits.log_softmax(-1), 2, target.unsqueeze(-1)).squeeze(-1).sum(-1)


def measure_dpo(model, cfg, proc, ids, scale: Scale, vocab_text: int, dev, dtype, rng, params: dict) -> dict[str, Any]:
    from peft import LoraConfig, get_peft_model

    # Adapters on the language model only: the vision tower stays frozen, as in the recipes.
    lo = DPO["lora"]
    lora = LoraConfig(r=lo["r"], lora_alpha=lo["alpha"], lora_dropout=lo["dropout"],
                      target_modules=rf"^(?!.*visual).*\.({'|'.join(lo['target_modules'])})$")
    # Renamed activation_checkpointing_enable in newer transformers; the image's release has the old name.
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable({"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    policy = get_peft_model(model, lora)
    policy.train()
    trainable = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    opt = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=DPO["learning_rate"])

    pairs = scale.dpo_pairs
    pixels1, grid1, n_img = encode_images(proc, random_images(1, scale.image_side, rng), dev, dtype)
    resp_len = scale.seq_len - (scale.prompt_text + n_img + 3)
    if resp_len < 1:
        raise SystemExit(f"--seq-len {scale.seq_len} leaves no room for a response after {n_img} image tokens")

    def make_batch() -> dict:
        rows = []
        for _ in range(pairs):
            prompt = prompt_ids(rng, ids, scale.prompt_text, n_img, vocab_text)
            for _ in ("chosen", "rejected"):
                rows.append(prompt + rng.integers(0, vocab_text, resp_len).tolist())
        n = len(rows)
        return model_inputs(model, torch.tensor(rows, device=dev), ids, pixels1.repeat(n, 1), grid1.repeat(n, 1))

    beta = DPO["beta"]
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else contextlib.nullcontext()

    def step() -> float:
        batch = make_batch()
        with autocast:
            with torch.no_grad(), policy.disable_adapter():
                ref = response_logps(policy, batch, resp_len)
            pol = response_logps(policy, batch, resp_len)
            margin = (pol[0::2] - ref[0::2]) - (pol[1::2] - ref[1::2])
            loss = -torch.nn.functional.logsigmoid(beta * margin).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    step()  # warm-up
    reset_peak(dev)
    losses, times = [], []
    for _ in range(scale.dpo_steps):
        sync(dev)
        t0 = time.perf_counter()
        losses.append(step())
        sync(dev)
        times.append(time.perf_counter() - t0)
    mem, mem_kind = peak_memory(dev)

    seqs = 2 * pairs
    tokens = seqs * scale.seq_len
    patches = seqs * int(grid1[0].prod().item())
    fwd = lm_forward_flops(cfg, params["language_matmul"], tokens, scale.seq_len)
    vis = vision_forward_flops(params["vision"], patches)
    # Policy: forward + backward to activations (frozen base: no weight gradients besides LoRA's);
    # reference: forward. Recomputation by checkpointing is not model FLOPs and is not counted.
    flops_step = 3 * fwd + 2 * vis
    step_s = float(np.median(times))
    achieved = flops_step / step_s / 1e12
    peak = bf16_peak_tflops(device_info()["name"]) if dev.type == "cuda" else None
    return {
        "steps": scale.dpo_steps, "pairs_per_step": pairs, "seq_len": scale.seq_len, "image_side": scale.image_side,
        "image_tokens": n_img, "response_tokens": resp_len, "lora_r": lo["r"], "gradient_checkpointing": True,
        "trainable_params": trainable, "step_seconds": step_s, "tokens_per_s": tokens / step_s,
        "peak_memory_bytes": mem, "peak_memory_kind": mem_kind, "model_flops_per_step": flops_step,
        "achieved_tflops": achieved, "peak_bf16_tflops": peak,
        "mfu": (achieved / peak) if peak else None, "loss_first": losses[0], "loss_last": losses[-1],
    }


def save_for_vllm(model, cfg, ids: dict, side: int, path: str) -> None:
    """A checkpoint folder vLLM can load: the weights, the image processor and a word-level
    tokenizer whose ids line up with the model's (token `<tN>` is id N; the specials keep theirs)."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    names = {
        "bos": "<|endoftext|>", "im_start": "<|im_start|>", "eos": "<|im_end|>", "vision_start": "<|vision_start|>",
        "vision_end": "<|vision_end|>", "image_pad": "<|image_pad|>", "video_pad": "<|video_pad|>",
    }
    special = {names[k]: v for k, v in ids.items()}
    taken = set(special.values())
    vocab = {f"<t{i}>": i for i in range(cfg.text_config.vocab_size) if i not in taken}
    vocab.update(special)
    tok = Tokenizer(WordLevel(vocab, unk_token="<t0>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=names["bos"], eos_token=names["eos"],
                                   pad_token=names["bos"], unk_token="<t0>",
                                   additional_special_tokens=[n for n in special if n not in (names["bos"], names["eos"])])
    model.save_pretrained(path)
    # Saved apart, not as a Qwen2VLProcessor: vLLM assembles the processor (video part included) itself.
    fast.save_pretrained(path)
    image_processor(side).save_pretrained(path)


def measure_vllm(snapshot: str | None, scale: Scale, vocab_text: int, rng) -> dict[str, Any]:
    """The same generation through vLLM's offline engine, from the saved snapshot."""
    try:
        import vllm
    except ImportError as e:
        return {"status": "skipped", "reason": f"vllm is not installed ({e})"}
    if snapshot is None or not torch.cuda.is_available():
        return {"status": "skipped", "reason": "vllm is installed but needs a CUDA GPU"}
    try:
        n_img = (scale.image_side // 28) ** 2
        llm = vllm.LLM(model=snapshot, dtype="bfloat16", seed=0,
                       max_model_len=max(2048, scale.prompt_text + n_img + scale.new_tokens + 16),
                       limit_mm_per_prompt={"image": 1, "video": 0}, gpu_memory_utilization=0.85,
                       mm_processor_kwargs={"min_pixels": scale.image_side ** 2, "max_pixels": scale.image_side ** 2})
        half = scale.prompt_text // 2
        words = lambda k: " ".join(f"<t{i}>" for i in rng.integers(0, vocab_text, k))  # noqa: E731
        prompts = [{"prompt": f"<|im_start|> {words(half)} <|vision_start|><|image_pad|><|vision_end|> {words(scale.prompt_text - half)}",
                    "multi_modal_data": {"image": img}} for img in random_images(scale.gen_batch, scale.image_side, rng)]
        params = vllm.SamplingParams(temperature=0.0, max_tokens=scale.new_tokens, min_tokens=scale.new_tokens,
                                     ignore_eos=True, detokenize=False)
        llm.generate(prompts[:2], vllm.SamplingParams(temperature=0.0, max_tokens=2, detokenize=False), use_tqdm=False)
        t0 = time.perf_counter()
        outs = llm.generate(prompts, params, use_tqdm=False)
        dt = time.perf_counter() - t0
        new = sum(len(o.outputs[0].token_ids) for o in outs)
        return {"status": "ok", "version": vllm.__version__, "batch": scale.gen_batch,
                "new_tokens_per_seq": scale.new_tokens, "seconds": dt, "tokens_per_s": new / dt}
    except Exception as e:  # a broken vLLM set-up is a finding to report, not a reason to lose the other figures
        return {"status": "error", "reason": f"{type(e).__name__}: {e}"}


def versions() -> dict[str, str]:
    import peft
    import transformers

    v = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    with contextlib.suppress(ImportError):
        import trl

        v["trl"] = trl.__version__
    return v


def fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.3g}{unit}" if abs(x) < 100 else f"{x:,.0f}{unit}"
    return f"{x:,}{unit}"


def print_table(r: dict[str, Any]) -> None:
    g, d, v = r["generation"], r["dpo"], r["vllm"]
    gib = lambda b: b / 2**30  # noqa: E731
    rows = [
        ("config", r["config"]),
        ("device", r["device"]["name"]),
        ("parameters", f"{r['model']['params_total']:,} (vision {r['model']['params_vision']:,})"),
        ("generate (hf): batch x new tokens", f"{g['batch']} x {g['new_tokens_per_seq']} (prompt {g['prompt_tokens']}, image {g['image_tokens']})"),
        ("generate (hf): tokens/s", fmt(g["tokens_per_s"])),
        ("generate (hf): peak memory GiB", fmt(gib(g["peak_memory_bytes"]))),
        ("dpo: pairs x seq len", f"{d['pairs_per_step']} x {d['seq_len']} (image {d['image_tokens']}, response {d['response_tokens']})"),
        ("dpo: step s (median)", fmt(d["step_seconds"])),
        ("dpo: tokens/s", fmt(d["tokens_per_s"])),
        ("dpo: peak memory GiB", f"{fmt(gib(d['peak_memory_bytes']))} ({d['peak_memory_kind']})"),
        ("dpo: achieved TFLOP/s", fmt(d["achieved_tflops"])),
        ("dpo: MFU", "n/a" if d["mfu"] is None else f"{100 * d['mfu']:.1f}% of {d['peak_bf16_tflops']:.0f} TFLOP/s"),
        ("generate (vllm)", fmt(v.get("tokens_per_s")) + " tokens/s" if v["status"] == "ok" else f"{v['status']}: {v['reason']}"),
    ]
    w = max(len(k) for k, _ in rows)
    for k, val in rows:
        print(f"{k.ljust(w)}  {val}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m ipa_worker.tools.gpu_check", description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=["7b", "tiny"], default=None, help="default: 7b with CUDA, tiny without")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument("--gen-batch", type=int, default=None, help="sequences per generate call")
    ap.add_argument("--new-tokens", type=int, default=None, help="tokens generated per sequence")
    ap.add_argument("--dpo-steps", type=int, default=None, help="timed DPO steps (after one warm-up)")
    ap.add_argument("--dpo-pairs", type=int, default=None, help="preference pairs per DPO step")
    ap.add_argument("--seq-len", type=int, default=None, help="tokens per DPO sequence, image tokens included")
    ap.add_argument("--image-side", type=int, default=None, help="square image side in pixels (a multiple of 28)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    cuda = torch.cuda.is_available()
    name = a.config or ("7b" if cuda else "tiny")
    d = DEFAULTS[name]
    scale = Scale(
        gen_batch=a.gen_batch or d.gen_batch, new_tokens=a.new_tokens or d.new_tokens, prompt_text=d.prompt_text,
        dpo_steps=a.dpo_steps or d.dpo_steps, dpo_pairs=a.dpo_pairs or d.dpo_pairs,
        seq_len=a.seq_len or d.seq_len, image_side=a.image_side or d.image_side,
    )
    if scale.image_side % 28:
        raise SystemExit("--image-side must be a multiple of 28 (patch 14 x merge 2)")
    if name == "7b" and not cuda:
        print("warning: the 7b config on a CPU needs about 17 GB of memory and is very slow", file=sys.stderr)

    from transformers import Qwen2VLForConditionalGeneration

    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    dev = torch.device("cuda", 0) if cuda else torch.device("cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    cfg, ids = build_config(name)
    t0 = time.perf_counter()
    with dev:  # initialise the weights on the GPU directly: 16 GB need not pass through host memory
        model = Qwen2VLForConditionalGeneration._from_config(cfg, dtype=dtype, attn_implementation="sdpa")
    model.eval()
    build_s = time.perf_counter() - t0
    params = count_params(model)
    vocab_text = min(ids.values())  # ordinary tokens are the ids below the first special one
    proc = image_processor(scale.image_side)

    result: dict[str, Any] = {
        "config": name, "device": device_info(), "versions": versions(), "dtype": str(dtype).removeprefix("torch."),
        "model": {"class": type(model).__name__, "params_total": params["total"], "params_vision": params["vision"],
                  "params_language": params["language"], "hidden_size": cfg.text_config.hidden_size,
                  "layers": cfg.text_config.num_hidden_layers, "vocab_size": cfg.text_config.vocab_size, "build_seconds": build_s},
    }
    result["generation"] = measure_generation(model, proc, ids, scale, vocab_text, dev, dtype, rng)
    vllm_wanted = cuda and _vllm_importable()
    snapshot = tempfile.mkdtemp(prefix="ipa-gpu-check-weights-") if vllm_wanted else None
    if snapshot:
        # vLLM loads from disk; save the untouched base weights before LoRA wraps the model.
        save_for_vllm(model, cfg, ids, scale.image_side, snapshot)
    result["dpo"] = measure_dpo(model, cfg, proc, ids, scale, vocab_text, dev, dtype, rng, params)
    del model
    if cuda:
        torch.cuda.empty_cache()
    try:
        result["vllm"] = measure_vllm(snapshot, scale, vocab_text, rng)
    finally:
        if snapshot:
            shutil.rmtree(snapshot, ignore_errors=True)

    print_table(result)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2, default=_json_default)
        print(f"wrote {a.out}")
    return result


def _vllm_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def _json_default(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return str(x)


if __name__ == "__main__":
    main()
