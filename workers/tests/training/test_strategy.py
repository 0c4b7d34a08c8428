"""The training strategy by job, and the FSDP arguments that reach the trainer."""

from __future__ import annotations

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.training.batch_layout import split_batch
from ipa_worker.training.strategy import resolve_strategy, strategy_args


def test_strategy_by_job():
    assert resolve_strategy("auto", full_finetune=False, device="cuda", world_size=1) == "single"
    assert resolve_strategy("auto", full_finetune=False, device="cuda", world_size=4) == "ddp"
    assert resolve_strategy("auto", full_finetune=True, device="cuda", world_size=4) == "fsdp"
    assert resolve_strategy("auto", full_finetune=True, device="cpu", world_size=2) == "ddp"
    assert resolve_strategy("ddp", full_finetune=True, device="cuda", world_size=2) == "ddp"
    # FSDP over gloo on CPU ranks, asked for: it runs (workers/tests/launch/test_group.py).
    assert resolve_strategy("fsdp", full_finetune=True, device="cpu", world_size=2) == "fsdp"
    with pytest.raises(BadInput, match="fsdp, which is for full fine-tuning"):
        resolve_strategy("fsdp", full_finetune=False, device="cuda", world_size=2)


def test_fsdp_arguments_reach_the_trainer_config():
    """The DPOConfig FSDP trains with (the run itself: workers/tests/launch/test_group.py)."""
    from ipa_worker.contract import recipe_defaults
    from ipa_worker.contract.recipe_types import TrainingDpo
    from ipa_worker.training.dpo_trainer import dpo_config

    dpo = TrainingDpo.from_dict({**recipe_defaults()["training"]["dpo"], "gradient_checkpointing": True})
    args = dpo_config(dpo, checkpoint_dir="unused", device="cpu", layout=split_batch(16, 2, 1, field="f"),
                      strategy=strategy_args("fsdp", timeout_s=900, gradient_checkpointing=True))  # fmt: skip
    assert args.fsdp and args.fsdp_config["reshard_after_forward"] is True
    assert args.fsdp_config["activation_checkpointing"] is True and not args.gradient_checkpointing
    assert args.ddp_timeout == 900 and args.per_device_train_batch_size == 2 and args.gradient_accumulation_steps == 8
    ddp = strategy_args("ddp", timeout_s=60, gradient_checkpointing=True)
    assert ddp == {"ddp_timeout": 60, "gradient_checkpointing": True}
