"""DPO of a Qwen2-VL policy (or reviser) on preference pairs with TRL's DPOTrainer.

The dataset has an `images` column, so DPOTrainer collates with its vision collator and
`pixel_values` + `image_grid_thw` reach the model's forward (tests/training/test_dpo_trainer.py checks it).

Reference model (what the policy is kept close to):
- LoRA from a fresh adapter (adapters_from: initial): TRL disables the adapter, i.e. the start
  model's base weights; "initial" and "round_start" are the same thing there.
- LoRA continuing an adapter (start.adapter set): "round_start" keeps TRL's frozen copy of that
  adapter (named "ref"); "initial" deletes that copy, so disabling adapters gives the base.
- full fine-tuning: an explicit frozen model, loaded from `reference` when given, else from the
  start spec (round_start) or the start base without adapter (initial).
TRL refuses `precompute_ref_log_probs` for vision datasets; the recipe flag is then ignored with
a log line (for LoRA no reference copy is held anyway).

Several processes (a launched group, `ipa_worker.launch`): the recipe's global batch is split
over them (`training.batch_layout`), the strategy comes from `training.strategy`, and rank 0 alone
writes metrics and the output folder; the Trainer writes checkpoints from rank 0 (each rank adds
its RNG state) and `CheckpointMark` marks them complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..contract.recipe_types import Training, TrainingDpo
from . import collective
from .batch_layout import BatchLayout, split_batch
from .callbacks import CheckpointMark, DataParallelCheck, MetricsCallback, quiet_trainer
from .checkpoints import last_checkpoint
from .strategy import resolve_strategy, strategy_args
from .tracking import Tracking
from .trainable import freeze_vision, load_trainable, lora_config, publish_dir, resume_start, use_bf16


@dataclass(frozen=True, kw_only=True)
class DpoJob:
    """One DPO training besides the recipe's settings: what it starts from, where it writes."""

    start: dict[str, Any]  # {base, adapter}
    out_dir: str
    checkpoint_dir: str
    model_name: str = "policy"
    # Full fine-tuning's reference model spec; None: by training.reference_model from `start`.
    reference: dict[str, Any] | None = None
    # The per-device batch cap after OOM halvings (None: training.dpo.batch_size).
    batch_size: int | None = None
    metrics_path: str | None = None
    max_steps: int | None = None  # benchmarks stop early


def dpo_config(
    dpo: TrainingDpo,
    *,
    checkpoint_dir: str,
    device: str,
    layout: BatchLayout,
    strategy: dict[str, Any],
    max_steps: int | None = None,
    vision: bool = True,
    tracking: Tracking | None = None,
):
    """DPOConfig from the recipe's training.dpo, the batch layout and the strategy's arguments."""
    from trl import DPOConfig

    return DPOConfig(
        output_dir=checkpoint_dir,
        beta=dpo.beta,
        loss_type=dpo.loss_type if isinstance(dpo.loss_type, list) else [dpo.loss_type],
        loss_weights=dpo.loss_weights,
        learning_rate=dpo.learning_rate,
        num_train_epochs=dpo.epochs,
        max_steps=max_steps or -1,
        per_device_train_batch_size=layout.per_device,
        gradient_accumulation_steps=layout.grad_accum,
        bf16=use_bf16(dpo.bf16, device),
        fp16=False,
        precompute_ref_log_probs=dpo.precompute_ref_log_probs and not vision,
        max_length=dpo.max_length,
        save_strategy="steps",
        save_steps=dpo.save_steps,
        save_total_limit=None,  # CheckpointMark keeps dpo.save_total_limit (training/checkpoints.py says why)
        logging_steps=1,
        **(tracking or Tracking()).trainer_args(),
        seed=dpo.seed,
        data_seed=dpo.seed,
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=True,
        save_only_model=False,  # optimizer and scheduler state are needed to resume exactly
        **strategy,
    )


def _layout(job: DpoJob, training: Training, device: str):
    """The global batch split over this group's ranks, and the data-parallel strategy on them."""
    dpo = training.dpo
    layout = split_batch(
        dpo.batch_size * dpo.grad_accum,
        job.batch_size or dpo.batch_size,
        collective.world_size(),
        field="training.dpo.batch_size x grad_accum",
    )
    strategy = resolve_strategy(
        training.distributed.strategy, full_finetune=dpo.full_finetune, device=device, world_size=layout.world_size
    )
    return layout, strategy


def _reward_before(trainer, eval_sets: dict[str, Any] | None) -> dict[str, Any]:
    """The reward figures before training (the start policy against its reference): with a fresh
    adapter both are the same weights, so every margin is 0 and the accuracy 0 (ties never count)."""
    before: dict[str, Any] = {}
    for name, ds in (eval_sets or {}).items():
        before.update(
            {f"{k}_before": v for k, v in reward_metrics(trainer, ds, name).items() if not k.startswith("pairs_")}
        )
    if eval_sets:
        forget_evaluation_prepare(trainer)
    return before


def forget_evaluation_prepare(trainer) -> None:
    """Undo what `trainer.evaluate()` before `train()` leaves behind, so `train()` prepares the
    model as if it had not run.

    The evaluation prepares the model with accelerate in evaluation mode (no DDP wrap) and accelerate
    marks it prepared; `train()`'s own prepare then returns it as it is, and in a launched group the
    ranks trained without sharing gradients (each on its half of the batch: 1- and 2-process losses
    differed by 7e-4 at step 2; `DataParallelCheck` now fails such a training). Not needed for FSDP,
    whose evaluation prepare wraps the model for training already.
    """
    model = trainer.model
    if getattr(model, "_is_accelerate_prepared", False) and not trainer.is_fsdp_enabled:
        model._is_accelerate_prepared = False
        trainer.accelerator._models[:] = [m for m in trainer.accelerator._models if m is not model]
        trainer.model_wrapped = model


def train_dpo(
    dataset,
    job: DpoJob,
    training: Training,
    model_cfg: dict[str, Any],
    *,
    ctx: Any = None,
    tracking: Tracking | None = None,
    callbacks: list | None = None,
    eval_sets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on `dataset` (pairs with images) by the recipe's `training` section, save the adapter
    (or full model) + processor to `job.out_dir`.

    The global batch is training.dpo.batch_size x grad_accum, whatever `job.batch_size` caps the
    per-device share at. Resumes from the last complete `checkpoint-<step>` under
    `job.checkpoint_dir`. After training, every dataset of `eval_sets` (e.g. the training pairs
    themselves and held-out pairs) is scored pair by pair (every rank takes part): metrics
    `reward_accuracy_<name>`, `reward_margin_<name>`, `pairs_<name>`, and the first two before training too
    (`..._before`). `tracking` sends the run to
    the recipe's trackers (from rank 0). Returns `{"output": {path, rows, sha256} (None on ranks
    other than 0), "metrics": {...}}`.
    """
    from trl import DPOTrainer

    dpo, full = training.dpo, training.dpo.full_finetune
    resume = last_checkpoint(job.checkpoint_dir)
    model, processor, device = load_trainable(resume_start(job.start, resume, full=full), model_cfg, merge_adapter=full)
    vision = "images" in dataset.column_names
    if dpo.precompute_ref_log_probs and vision and ctx is not None:
        ctx.log("precompute_ref_log_probs ignored: TRL does not support it for vision datasets", level="warning")
    if full:
        freeze_vision(model)
    ref_model = _full_reference(job, training, model_cfg) if full else None
    layout, strategy = _layout(job, training, device)
    if ctx is not None:
        ctx.log(f"{job.model_name}: {layout.describe()}; strategy {strategy}", **layout.metrics())
    tracking = tracking or Tracking()
    args = dpo_config(
        dpo, checkpoint_dir=job.checkpoint_dir, device=device, layout=layout, max_steps=job.max_steps, vision=vision, tracking=tracking,
        strategy=strategy_args(strategy, timeout_s=training.distributed.collective_timeout_s, gradient_checkpointing=dpo.gradient_checkpointing),
    )  # fmt: skip
    metrics_cb = MetricsCallback(job.metrics_path, job.model_name, ctx, label=f"{job.model_name} DPO")
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        # A fresh adapter; one continued from `start` is trainable already.
        peft_config=None if full or job.start["adapter"] else lora_config(training.lora),
        callbacks=[metrics_cb, CheckpointMark(dpo.save_total_limit), *tracking.callbacks(), *(callbacks or [])],
    )
    quiet_trainer(trainer)
    trainer.add_callback(DataParallelCheck(trainer, strategy))
    tracking.attach(trainer)
    if not full and job.start["adapter"] and training.reference_model == "initial":
        _drop_adapter_reference(trainer)

    before = _reward_before(trainer, eval_sets)
    out = trainer.train(resume_from_checkpoint=resume)
    record = _publish(trainer, processor, job.out_dir, full=full, fsdp=strategy == "fsdp")
    metrics = summarize(metrics_cb.rows, job.model_name) | before
    for name, ds in (eval_sets or {}).items():
        metrics.update(reward_metrics(trainer, ds, name))
    metrics.update(
        steps=int(trainer.state.global_step),
        resumed_from_step=int(resume.rsplit("-", 1)[-1]) if resume else 0,
        train_rows=len(dataset),
        train_loss=float(out.training_loss) if out.training_loss is not None else None,
        full_finetune=full,
        strategy=strategy,
        **layout.metrics(),
    )
    return {"output": record, "metrics": metrics}


def _full_reference(job: DpoJob, training: Training, model_cfg: dict[str, Any]):
    """Full fine-tuning's frozen reference: `job.reference`, else the start (round_start) or the
    start's base without adapter (initial)."""
    spec = job.reference or (
        job.start if training.reference_model == "round_start" else {"base": job.start["base"], "adapter": None}
    )
    ref_model, _, _ = load_trainable(spec, model_cfg, merge_adapter=True)
    return ref_model.eval().requires_grad_(False)


def _drop_adapter_reference(trainer) -> None:
    """Reference "initial" while continuing an adapter: delete TRL's frozen copy of the start
    adapter ("ref"), so disabling adapters gives the base model."""
    if "ref" in getattr(trainer.model, "peft_config", {}):
        trainer.model.delete_adapter("ref")
        trainer.model.set_adapter("default")


def _publish(trainer, processor, out_dir: str, *, full: bool, fsdp: bool) -> dict[str, Any] | None:
    """Write the trained adapter (or full model) and the processor; rank 0 writes, every rank
    takes part in gathering FSDP's sharded weights (a collective). None on ranks other than 0."""
    full_state = trainer.accelerator.get_state_dict(trainer.model_wrapped) if fsdp else None

    def write(tmp) -> None:
        if full:
            trainer.model.save_pretrained(tmp, state_dict=full_state)
        else:
            trainer.model.save_pretrained(tmp, selected_adapters=["default"])
        processor.save_pretrained(tmp)

    return publish_dir(out_dir, write) if collective.is_main() else None


def reward_metrics(trainer, dataset, name: str) -> dict[str, Any]:
    """DPO reward accuracy (chosen reward above rejected) and mean margin over every pair of
    `dataset`, with the trained policy against its reference; None for an empty set."""
    if dataset is None or len(dataset) == 0:
        return {f"reward_accuracy_{name}": None, f"reward_margin_{name}": None, f"pairs_{name}": 0}
    # TRL averages its metrics over batches: batches of equal size make that the exact mean over
    # pairs, so the batch is the largest divisor of the set's size up to the training batch.
    n, cap = len(dataset), max(1, int(trainer.args.per_device_train_batch_size))
    trainer.args.per_device_eval_batch_size = max(d for d in range(1, min(n, cap) + 1) if n % d == 0)
    m = trainer.evaluate(eval_dataset=dataset, metric_key_prefix=f"eval_{name}")
    # TRL prefixes its own metrics with "eval_" whatever the prefix (TRL 1.16); take either.
    get = lambda key: m.get(f"eval_{name}_{key}", m.get(f"eval_{key}"))  # noqa: E731
    return {
        f"reward_accuracy_{name}": get("rewards/accuracies"),
        f"reward_margin_{name}": get("rewards/margins"),
        f"pairs_{name}": len(dataset),
    }


def summarize(rows: list[dict[str, Any]], model_name: str) -> dict[str, Any]:
    """Loss and the logged minibatch's reward statistics at the first and last step of `model_name`
    (one minibatch each: a progress signal, not an accuracy — see reward_metrics)."""
    mine = sorted((r for r in rows if r.get("model") == model_name), key=lambda r: r["step"])
    if not mine:
        return {
            "final_loss": None,
            "first_batch_reward_accuracy": None,
            "last_batch_reward_accuracy": None,
            "first_batch_margin": None,
            "last_batch_margin": None,
        }
    first, last = mine[0], mine[-1]
    return {
        "final_loss": last.get("loss"),
        "first_batch_reward_accuracy": first.get("rewards/accuracies"),
        "last_batch_reward_accuracy": last.get("rewards/accuracies"),
        "first_batch_margin": first.get("rewards/margins"),
        "last_batch_margin": last.get("rewards/margins"),
    }


def save_untrained(
    start: dict[str, Any], out_dir: str, training: Training, model_cfg: dict[str, Any]
) -> dict[str, Any] | None:
    """The output of a training with no pairs: the start model unchanged, in the usual format
    (written by rank 0 alone; None on the other ranks of a group).

    LoRA: the start adapter, or a fresh one (its B matrices are zero, so it equals the base);
    full fine-tuning: the start weights. The next round then loads it like any trained output.
    """
    full = training.dpo.full_finetune
    if not collective.is_main():
        return None
    model, processor, _ = load_trainable(start, model_cfg, merge_adapter=full)
    if not full and not start["adapter"]:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(training.lora))

    def write(tmp) -> None:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)

    return publish_dir(out_dir, write)
