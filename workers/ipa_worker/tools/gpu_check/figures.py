"""The check's figures from what the stages wrote: DPO step time, tokens/s, MFU and HFU from the
train stage's own train_metrics.jsonl (`seconds` and TRL's running `num_tokens` per logged step)."""

from __future__ import annotations

import statistics
from typing import Any

from .architecture import Architecture
from .flops import dpo_step_flops, dpo_step_hardware_flops, utilisation


def step_rows(rows: list[dict[str, Any]], model: str = "policy") -> list[dict[str, Any]]:
    """`model`'s logged steps in order, each with `tokens`: the tokens trained on in that step."""
    mine = sorted((r for r in rows if r.get("model") == model), key=lambda r: r["step"])
    out, seen = [], 0.0
    for r in mine:
        total = float(r.get("num_tokens", 0.0))
        out.append({**r, "tokens": total - seen})
        seen = total
    return out


def timed_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps to time: all but the first (kernel selection, allocator growth) when there are two or more."""
    return steps[1:] if len(steps) > 1 else steps


def dpo_figures(rows: list[dict[str, Any]], arch: Architecture, params: dict[str, int], *, pairs_per_step: int,
                patches_per_image: int, prompt_tokens: float, peak_tflops: float | None,
                gradient_checkpointing: bool = True) -> dict[str, Any]:  # fmt: skip
    """Median step time, tokens/s, model and hardware FLOPs per step, MFU and HFU of the policy's
    DPO steps; `prompt_tokens`: the mean prompt length of a sequence (image tokens included), the
    rest of each sequence being the completion TRL scores."""
    steps = step_rows(rows)
    if not steps:
        raise ValueError("the train stage logged no DPO step")
    timed = timed_steps(steps)
    seconds = sum(s["seconds"] for s in timed)
    tokens = sum(s["tokens"] for s in timed)
    sequences = 2 * pairs_per_step  # chosen and rejected, one image each
    tokens_per_step = tokens / len(timed)
    completion = max(0.0, tokens_per_step - sequences * prompt_tokens)
    shape = dict(
        tokens=tokens_per_step, completion_tokens=completion, sequences=sequences, patches=sequences * patches_per_image
    )
    flops = dpo_step_flops(arch, params, **shape)
    hw_flops = dpo_step_hardware_flops(arch, params, **shape, recompute=gradient_checkpointing)
    step_s = statistics.median(s["seconds"] for s in timed)
    achieved, mfu = utilisation(flops, step_s, peak_tflops)
    hw_achieved, hfu = utilisation(hw_flops, step_s, peak_tflops)
    return {
        "steps": len(steps),
        "timed_steps": len(timed),
        "pairs_per_step": pairs_per_step,
        "tokens_per_step": tokens_per_step,
        "completion_tokens_per_step": completion,
        "step_seconds": step_s,
        "tokens_per_s": tokens / seconds if seconds > 0 else None,
        "model_flops_per_step": flops,
        "hardware_flops_per_step": hw_flops,
        "achieved_tflops": achieved,
        "achieved_hardware_tflops": hw_achieved,
        "peak_bf16_tflops": peak_tflops,
        "mfu": mfu,
        "hfu": hfu,
        "loss_first": steps[0].get("loss"),
        "loss_last": steps[-1].get("loss"),
    }
