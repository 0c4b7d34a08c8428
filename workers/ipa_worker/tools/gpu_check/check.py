"""One run of the GPU check: checkpoint, seeds, then the sample, verify and train stages."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from ...contract import stage_outputs
from ...data.jsonl_io import read_jsonl
from .architecture import ARCHITECTURES
from .checkpoint import build_checkpoint
from .figures import dpo_figures
from .flops import bf16_peak_tflops, param_counts
from .stage_runs import ROUND, SHARD, StageRunner, Workload, check_recipe, write_pairs, write_seeds

# What LoRA DPO on the 7B model should reach on an H100/H200 (issue 17); reported, not enforced.
MFU_TARGET = 0.40


def device_info(device: str) -> dict[str, Any]:
    import torch

    if device == "cuda":
        p = torch.cuda.get_device_properties(0)
        return {"kind": "cuda", "name": p.name, "memory_bytes": int(p.total_memory), "count": torch.cuda.device_count()}
    return {"kind": "cpu", "name": "cpu", "threads": torch.get_num_threads()}


def versions() -> dict[str, str]:
    import accelerate
    import peft
    import torch
    import transformers
    import trl

    return {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "peft": peft.__version__, "accelerate": accelerate.__version__}  # fmt: skip


def mean_prompt_tokens(base: str, pairs_path: str, pixels: int) -> float:
    """The mean prompt length of the pairs, image tokens included, as the checkpoint's processor
    encodes it (chat template with the generation prompt, the image expanded to its tokens)."""
    from PIL import Image

    from ...models.processor import load_processor

    processor = load_processor(base, pixels, pixels)
    lengths = []
    for pair in read_jsonl(pairs_path):
        text = processor.apply_chat_template(pair["prompt"], tokenize=False, add_generation_prompt=True)
        images = [Image.open(p).convert("RGB") for p in pair["images"]]
        lengths.append(len(processor(text=[text], images=images)["input_ids"][0]))
    return sum(lengths) / len(lengths)


def run_check(
    config: str, work: Path, w: Workload, *, backend: str = "hf", device: str = "cuda", log=print
) -> dict[str, Any]:
    """Runs the check in `work` (the checkpoint under model/, the run under run/) on `device`
    ("cuda" or "cpu") and returns its figures."""
    import huggingface_hub.constants

    t_start = time.perf_counter()
    arch = ARCHITECTURES[config]
    dev = device_info(device)
    cuda = device == "cuda"
    log(f"gpu-check: {config} on {dev['name']}; building the random-weight checkpoint")
    ckpt = build_checkpoint(
        work / "model", arch, pixels=w.pixels, device="cuda" if cuda else "cpu", dtype="bfloat16" if cuda else "float32"
    )
    params = param_counts(arch)

    run_dir = work / "run"
    recipe = check_recipe(ckpt["path"], w, backend, device)
    seeds = write_seeds(work / "data", run_dir, w.seeds, w.image_side)
    runner = StageRunner(run_dir, cuda)
    log("gpu-check: loading the model into the worker's pool")
    load_s = runner.preload(recipe, {"seeds": seeds})

    log(
        f"gpu-check: sample ({w.seeds} seeds x {w.normal + w.contrastive} responses x {w.sample_tokens} tokens, on {backend})"
    )
    sampled = runner.run("sample", recipe, {"seeds": seeds})
    responses = sampled["outputs"]["responses"]["path"]
    log(f"gpu-check: verify (model verifier, on {backend})")
    runner.run("verify", recipe, {"seeds": seeds, "responses": responses})
    runner.release_models()

    pairs = write_pairs(run_dir, seeds, responses, w.pairs)
    log(f"gpu-check: train (LoRA DPO, gradient checkpointing, {w.dpo_steps} steps of {w.dpo_batch} pairs)")
    runner.run("train", recipe, {"pairs": [pairs], "feedback_pairs": []})

    rows = read_jsonl(run_dir / stage_outputs("train", ROUND, SHARD)["metrics"])
    patches_per_image = (w.image_side // 14) ** 2
    dpo = dpo_figures(rows, arch, params, pairs_per_step=w.dpo_batch, patches_per_image=patches_per_image,
                      prompt_tokens=mean_prompt_tokens(ckpt["path"], pairs, w.pixels),
                      peak_tflops=bf16_peak_tflops(dev["name"]) if cuda else None,
                      gradient_checkpointing=recipe["training"]["dpo"]["gradient_checkpointing"])  # fmt: skip
    dpo.update(mfu_target=MFU_TARGET, peak_memory_bytes=runner.results["train"]["peak_memory_bytes"])
    stages = runner.results
    return {
        "config": config,
        "device": dev,
        "versions": versions(),
        "model": {**params, "vocab_size": arch.vocab_size, "checkpoint": ckpt, "load_s": load_s},
        "workload": dataclasses.asdict(w),
        "backend": backend,
        # As the Hugging Face libraries see it: nothing is fetched from a hub during the check.
        "hub_offline": bool(huggingface_hub.constants.HF_HUB_OFFLINE),
        "stages": stages,
        "figures": {
            "sample": {
                "tokens_per_s": stages["sample"]["metrics"]["generated_tokens"]
                / stages["sample"]["metrics"]["generation_s"],
                "responses": stages["sample"]["metrics"]["responses"],
                "peak_memory_bytes": stages["sample"]["peak_memory_bytes"],
            },
            "verify": {
                "verdicts_per_s": stages["verify"]["metrics"]["n"] / stages["verify"]["seconds"],
                "verdicts": stages["verify"]["metrics"]["n"],
                "peak_memory_bytes": stages["verify"]["peak_memory_bytes"],
            },
            "dpo": dpo,
        },
        "seconds": time.perf_counter() - t_start,
    }
