"""Supervised fine-tuning with TRL's SFTTrainer: the warm-up, and the baselines' objectives.

Rows are conversational prompt/completion with an `images` column, so SFTTrainer uses its vision
collator and the loss covers the completion only. The warm-up always publishes a complete
checkpoint (weights + processor) that `from_pretrained` loads — full fine-tuning saves the
weights, LoRA is merged into them first — so later stages never need to know which was used.
The baselines (training.objective rft / sft_reference) publish a LoRA adapter instead, exactly
where and how a DPO-trained policy is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..contract.recipe_types import Recipe, TrainingDistributed, TrainingLora, WarmupSftLora
from . import collective
from .batch_layout import BatchLayout, split_batch
from .callbacks import CheckpointMark, DataParallelCheck, MetricsCallback, quiet_trainer
from .checkpoints import last_checkpoint
from .strategy import resolve_strategy, strategy_args
from .tracking import Tracking
from .trainable import freeze_vision, load_trainable, lora_config, publish_dir, resume_start, use_bf16


def examples_to_dataset(rows: list[dict[str, Any]]):
    """`{images, prompt, completion}` rows (conversational) -> a Dataset with Image features."""
    from datasets import Dataset, Image, List

    return Dataset.from_list(
        [{"images": list(r["images"]), "prompt": r["prompt"], "completion": r["completion"]} for r in rows]
    ).cast_column("images", List(Image()))


def answer_examples(rows: list[dict[str, Any]], text_key: str = "reference") -> list[dict[str, Any]]:
    """Rows with images and an instruction -> answer examples whose completion is `row[text_key]`."""
    from ..models.messages import prompt_completion

    return [prompt_completion(r["images"], r["instruction"], r[text_key]) for r in rows]


def seed_rows_to_dataset(seeds: list[dict[str, Any]]):
    """Seed rows -> a Dataset of {images, prompt, completion=reference}."""
    return examples_to_dataset(answer_examples(seeds))


@dataclass(frozen=True, kw_only=True)
class SftSettings:
    """What one SFT reads from the recipe: the warm-up and the baselines take it from different
    sections (`warmup` and `baseline`), the trainer does not care which."""

    epochs: float
    learning_rate: float
    batch_size: int  # the global batch (rows per optimiser step)
    batch_field: str  # the recipe field a batch error names
    full_finetune: bool
    lora: TrainingLora | WarmupSftLora
    max_length: int
    save_steps: int
    save_total_limit: int
    bf16: str
    seed: int
    distributed: TrainingDistributed
    # Full fine-tuning leaves the vision tower frozen unless this is set (warmup.sft.train_vision).
    train_vision: bool = False

    @classmethod
    def warmup(cls, recipe: Recipe) -> SftSettings:
        """The warm-up: warmup.sft, with training.dpo's precision, length and checkpoint interval."""
        sft, dpo = recipe.warmup.sft, recipe.training.dpo
        return cls(
            epochs=sft.epochs, learning_rate=sft.learning_rate, batch_size=sft.batch_size, batch_field="warmup.sft.batch_size",
            full_finetune=sft.full_finetune, lora=sft.lora, max_length=dpo.max_length, save_steps=dpo.save_steps, save_total_limit=dpo.save_total_limit, bf16=dpo.bf16,
            seed=recipe.seed, distributed=recipe.training.distributed, train_vision=sft.train_vision,
        )  # fmt: skip

    @classmethod
    def baseline(cls, recipe: Recipe) -> SftSettings:
        """The rft and sft_reference objectives: training.sft, trained like a DPO policy (training.lora,
        training.dpo's full_finetune, precision, length, checkpoints and seed)."""
        t = recipe.training
        return cls(
            epochs=t.sft.epochs, learning_rate=t.sft.learning_rate, batch_size=t.sft.batch_size, batch_field="training.sft.batch_size",
            full_finetune=t.dpo.full_finetune, lora=t.lora, max_length=t.dpo.max_length, save_steps=t.dpo.save_steps, save_total_limit=t.dpo.save_total_limit, bf16=t.dpo.bf16,
            seed=t.dpo.seed, distributed=t.distributed,
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SftJob:
    """One SFT besides its settings: what it starts from, where it writes, how it publishes."""

    start: dict[str, Any]  # {base, adapter}
    out_dir: str
    checkpoint_dir: str
    model_name: str = "sft"  # in the metrics lines
    # Publish a complete checkpoint (LoRA merged in); otherwise a LoRA run publishes its adapter.
    merge: bool = True
    # The per-device batch cap after OOM halvings (None: the global batch).
    batch_size: int | None = None
    metrics_path: str | None = None


def sft_config(
    settings: SftSettings, *, checkpoint_dir: str, device: str, layout: BatchLayout, strategy: str, tracking: Tracking
):
    """SFTConfig from the settings, the batch layout and the strategy."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=checkpoint_dir,
        num_train_epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=layout.per_device,
        gradient_accumulation_steps=layout.grad_accum,
        max_length=settings.max_length,
        bf16=use_bf16(settings.bf16, device),
        fp16=False,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=None,  # CheckpointMark keeps settings.save_total_limit (training/checkpoints.py says why)
        logging_steps=1,
        **tracking.trainer_args(),
        seed=settings.seed,
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=True,
        **strategy_args(strategy, timeout_s=settings.distributed.collective_timeout_s, gradient_checkpointing=False),
    )


def train_sft(
    dataset,
    job: SftJob,
    settings: SftSettings,
    model_cfg: dict[str, Any],
    *,
    ctx: Any = None,
    tracking: Tracking | None = None,
) -> dict[str, Any]:
    """Train, then publish at `job.out_dir`; resumes from checkpoints.

    The global batch is `settings.batch_size`, split over the training processes; `job.batch_size`
    caps the per-device share (scaled down after an OOM retry). Metrics lines carry
    `job.model_name`; `tracking` sends the run to the recipe's trackers; in a launched group rank 0
    alone writes metrics and the output (None on the other ranks).
    """
    from trl import SFTTrainer

    full = settings.full_finetune
    tracking = tracking or Tracking()
    resume = last_checkpoint(job.checkpoint_dir)
    model, processor, device = load_trainable(resume_start(job.start, resume, full=full), model_cfg, merge_adapter=True)
    if full and not settings.train_vision:
        freeze_vision(model)
    layout = split_batch(
        settings.batch_size, job.batch_size or settings.batch_size, collective.world_size(), field=settings.batch_field
    )
    strategy = resolve_strategy(
        settings.distributed.strategy, full_finetune=full, device=device, world_size=layout.world_size
    )
    if ctx is not None:
        ctx.log(f"sft: {layout.describe()}; strategy {strategy}", **layout.metrics())
    args = sft_config(
        settings, checkpoint_dir=job.checkpoint_dir, device=device, layout=layout, strategy=strategy, tracking=tracking
    )
    cb = MetricsCallback(
        job.metrics_path,
        job.model_name,
        ctx,
        label="warm-up SFT" if job.model_name == "sft" else f"{job.model_name} SFT",
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=None if full else lora_config(settings.lora),
        callbacks=[cb, CheckpointMark(settings.save_total_limit), *tracking.callbacks()],
    )
    quiet_trainer(trainer)
    trainer.add_callback(DataParallelCheck(trainer, strategy))
    tracking.attach(trainer)
    out = trainer.train(resume_from_checkpoint=resume)
    record = _publish(
        trainer, processor, job.out_dir, adapter_only=not full and not job.merge, full=full, fsdp=strategy == "fsdp"
    )
    losses = [r["loss"] for r in cb.rows if r.get("model") == job.model_name and "loss" in r]
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


def _publish(trainer, processor, out_dir: str, *, adapter_only: bool, full: bool, fsdp: bool) -> dict[str, Any] | None:
    """Write the model (LoRA merged in unless `adapter_only`) and the processor; rank 0 writes,
    every rank takes part in gathering FSDP's sharded weights. None on ranks other than 0."""
    full_state = trainer.accelerator.get_state_dict(trainer.model_wrapped) if fsdp else None
    trained = trainer.model if full or adapter_only else trainer.model.merge_and_unload()

    def write(tmp) -> None:
        trained.save_pretrained(tmp, state_dict=full_state)
        processor.save_pretrained(tmp)

    return publish_dir(out_dir, write) if collective.is_main() else None
