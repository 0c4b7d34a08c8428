"""How one training job shares its devices, as Trainer arguments.

- one process: nothing to share;
- DDP (each rank holds the whole model, gradients are averaged): LoRA, and any job on CPUs,
  where ranks talk over gloo;
- FSDP full-shard (weights, gradients and optimiser state split over the ranks): full
  fine-tuning, for CUDA, where a 7B model's Adam state does not fit one GPU. TRL 1.16 refuses
  precomputed reference log-probs for vision datasets, so the frozen reference model is sharded
  the same way (TRL's `prepare_fsdp`). It also runs on CPU ranks over gloo, which is how it is
  tested here (workers/tests/launch/test_group.py); not run on a GPU yet (docs/deployment.md).

`training.distributed.strategy: auto` picks FSDP for full fine-tuning on CUDA and DDP otherwise
(on CPU ranks DDP is the cheaper of the two; `fsdp` there is asked for explicitly).
DeepSpeed is not offered: it does not run on a CPU host, so nothing here could test it.
"""

from __future__ import annotations

from typing import Any

from ..contract import schema_enum
from ..errors import BadInput

SETTINGS = tuple(schema_enum("training", "distributed", "strategy"))


def resolve_strategy(setting: str, *, full_finetune: bool, device: str, world_size: int) -> str:
    """ "single", "ddp" or "fsdp" for this job."""
    if world_size == 1:
        return "single"
    if setting == "auto":
        return "fsdp" if full_finetune and device == "cuda" else "ddp"
    if setting not in SETTINGS:
        raise BadInput(f"unknown training.distributed.strategy {setting!r}")
    if setting == "fsdp" and not full_finetune:
        raise BadInput(
            "training.distributed.strategy is fsdp, which is for full fine-tuning; LoRA trains with ddp (auto picks it)"
        )
    return setting


def strategy_args(strategy: str, *, timeout_s: float, gradient_checkpointing: bool) -> dict[str, Any]:
    """TrainingArguments for `strategy` (from `resolve_strategy`), gradient checkpointing included.

    Under FSDP, activation checkpointing is FSDP's own (fsdp_config), not the Trainer's, which
    would gather the weights once more in the backward pass; the full state dict is what the
    output folder gets, so it loads with `from_pretrained` like any other.
    """
    args: dict[str, Any] = {"ddp_timeout": int(timeout_s), "gradient_checkpointing": bool(gradient_checkpointing)}
    if strategy == "fsdp":
        # FSDP2 (transformers' default); resharding after forward is what "full shard" means there,
        # and wrapping follows the model's _no_split_modules (decoder layers, vision blocks).
        args.update(
            gradient_checkpointing=False,
            fsdp=True,
            fsdp_config={
                "reshard_after_forward": True,
                "activation_checkpointing": bool(gradient_checkpointing),
                "state_dict_type": "FULL_STATE_DICT",
            },
        )  # fmt: skip
    return args
