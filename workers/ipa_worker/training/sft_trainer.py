"""Supervised fine-tuning with TRL's SFTTrainer: the warm-up, and the baselines' objectives.

Rows are conversational prompt/completion with an `images` column, so SFTTrainer uses its vision
collator and the loss covers the completion only. The warm-up always publishes a complete
checkpoint (weights + processor) that `from_pretrained` loads — full fine-tuning saves the
weights, LoRA is merged into them first — so later stages never need to know which was used.
The baselines (training.objective rft / sft_reference) publish a LoRA adapter instead, exactly
where and how a DPO-trained policy is published.
"""

from __future__ import annotations

from typing import Any

from . import collective
from .batch_layout import split_batch
from .callbacks import CheckpointMark, MetricsCallback, quiet_trainer
from .strategy import resolve_strategy, strategy_args
from .tracking import Tracking
from .trainable import freeze_vision, last_checkpoint, load_trainable, lora_config, publish_dir, use_bf16


def examples_to_dataset(rows: list[dict[str, Any]]):
    """`{images, prompt, completion}` rows (conversational) -> a Dataset with Image features."""
    from datasets import Dataset, Image, List

    return Dataset.from_list([{"images": list(r["images"]), "prompt": r["prompt"], "completion": r["completion"]} for r in rows]).cast_column(
        "images", List(Image())
    )


def answer_examples(rows: list[dict[str, Any]], text_key: str = "reference") -> list[dict[str, Any]]:
    """Rows with images and an instruction -> answer examples whose completion is `row[text_key]`."""
    from ..models.messages import assistant_messages, user_messages

    return [{"images": list(r["images"]), "prompt": user_messages(r["instruction"], len(r["images"])), "completion": assistant_messages(r[text_key])} for r in rows]


def seed_rows_to_dataset(seeds: list[dict[str, Any]]):
    """Seed rows -> a Dataset of {images, prompt, completion=reference}."""
    return examples_to_dataset(answer_examples(seeds))


def train_sft(
    dataset,
    *,
    start: dict[str, Any],
    out_dir: str,
    sft: dict[str, Any],
    model_cfg: dict[str, Any],
    checkpoint_dir: str,
    max_length: int,
    save_steps: int,
    bf16: str,
    seed: int,
    batch_size: int,
    distributed: dict[str, Any],
    batch_field: str = "warmup.sft.batch_size",
    metrics_path: str | None = None,
    ctx: Any = None,
    tracking: Tracking | None = None,
    merge: bool = True,
    model_name: str = "sft",
) -> dict[str, Any]:
    """Train, then publish at `out_dir`; resumes from checkpoints.

    `sft` holds epochs, learning_rate, full_finetune and lora. merge: publish a complete
    checkpoint (LoRA merged in); otherwise a LoRA run publishes only its adapter. The global batch
    is `sft["batch_size"]`, split over the training processes; `batch_size` caps the per-device
    share (scaled down after an OOM retry). Metrics lines carry `model_name`; `tracking` sends the run to the recipe's trackers; in a launched group
    rank 0 alone writes metrics and the output (None on the other ranks).
    """
    from trl import SFTConfig, SFTTrainer

    full = bool(sft["full_finetune"])
    tracking = tracking or Tracking()
    model, processor, device = load_trainable(start, model_cfg, merge_adapter=True)
    if full:
        freeze_vision(model)
    layout = split_batch(int(sft["batch_size"]), int(batch_size), collective.world_size(), field=batch_field)
    strategy = resolve_strategy(distributed["strategy"], full_finetune=full, device=device, world_size=layout.world_size)
    if ctx is not None:
        ctx.log(f"sft: {layout.describe()}; strategy {strategy}", **layout.metrics())
    args = SFTConfig(
        output_dir=checkpoint_dir,
        num_train_epochs=float(sft["epochs"]),
        learning_rate=float(sft["learning_rate"]),
        per_device_train_batch_size=layout.per_device,
        gradient_accumulation_steps=layout.grad_accum,
        max_length=max_length,
        bf16=use_bf16(bf16, device),
        fp16=False,
        save_strategy="steps",
        save_steps=int(save_steps),
        logging_steps=1,
        **tracking.trainer_args(),
        seed=int(seed),
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=True,
        **strategy_args(strategy, timeout_s=distributed["collective_timeout_s"], gradient_checkpointing=False),
    )
    cb = MetricsCallback(metrics_path, model_name, ctx, label="warm-up SFT" if model_name == "sft" else f"{model_name} SFT")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=None if full else lora_config(sft["lora"]),
        callbacks=[cb, CheckpointMark(), *tracking.callbacks()],
    )
    quiet_trainer(trainer)
    tracking.attach(trainer)
    resume = last_checkpoint(checkpoint_dir)
    out = trainer.train(resume_from_checkpoint=resume)
    # FSDP holds the weights in shards: gathering them is a collective, so every rank takes part.
    full_state = trainer.accelerator.get_state_dict(trainer.model_wrapped) if strategy == "fsdp" else None
    adapter_only = not full and not merge
    trained = trainer.model if full or adapter_only else trainer.model.merge_and_unload()

    def write(tmp) -> None:
        trained.save_pretrained(tmp, state_dict=full_state)
        processor.save_pretrained(tmp)

    record = publish_dir(out_dir, write) if collective.is_main() else None
    losses = [r["loss"] for r in cb.rows if r.get("model") == model_name and "loss" in r]
    return {
        "output": record,
        "metrics": {
            "steps": int(trainer.state.global_step),
            "resumed_from_step": int(resume.rsplit("-", 1)[-1]) if resume else 0,
            "train_rows": len(dataset),
            "first_loss": losses[0] if losses else None,
            "final_loss": losses[-1] if losses else None,
            "train_loss": float(out.training_loss) if out.training_loss is not None else None,
            "full_finetune": full,
            "strategy": strategy,
            **layout.metrics(),
        },
    }
