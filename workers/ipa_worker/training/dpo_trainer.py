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

from typing import Any

from ..contract import recipe_defaults, schema_enum
from ..errors import BadInput
from . import collective
from .batch_layout import BatchLayout, split_batch
from .callbacks import CheckpointMark, MetricsCallback, quiet_trainer
from .strategy import resolve_strategy, strategy_args
from .tracking import Tracking
from .trainable import freeze_vision, last_checkpoint, load_trainable, lora_config, publish_dir, use_bf16


def dpo_config(
    dpo: dict[str, Any],
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

    loss_types = dpo["loss_type"] if isinstance(dpo["loss_type"], list) else [dpo["loss_type"]]
    return DPOConfig(
        output_dir=checkpoint_dir,
        beta=float(dpo["beta"]),
        loss_type=loss_types,
        loss_weights=[float(w) for w in dpo["loss_weights"]] if dpo.get("loss_weights") else None,
        learning_rate=float(dpo["learning_rate"]),
        num_train_epochs=float(dpo["epochs"]),
        max_steps=int(max_steps) if max_steps else -1,
        per_device_train_batch_size=layout.per_device,
        gradient_accumulation_steps=layout.grad_accum,
        bf16=use_bf16(dpo["bf16"], device),
        fp16=False,
        precompute_ref_log_probs=bool(dpo["precompute_ref_log_probs"]) and not vision,
        max_length=int(dpo["max_length"]),
        save_strategy="steps",
        save_steps=int(dpo["save_steps"]),
        logging_steps=1,
        **(tracking or Tracking()).trainer_args(),
        seed=int(dpo["seed"]),
        data_seed=int(dpo["seed"]),
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=True,
        save_only_model=False,  # optimizer and scheduler state are needed to resume exactly
        **strategy,
    )


def train_dpo(
    dataset,
    *,
    start: dict[str, Any],
    out_dir: str,
    checkpoint_dir: str,
    dpo: dict[str, Any],
    model_cfg: dict[str, Any],
    reference_model: str = recipe_defaults()["training"]["reference_model"],
    reference: dict[str, Any] | None = None,
    distributed: dict[str, Any] = recipe_defaults()["training"]["distributed"],
    batch_size: int | None = None,
    metrics_path: str | None = None,
    model_name: str = "policy",
    ctx: Any = None,
    max_steps: int | None = None,
    callbacks: list | None = None,
    tracking: Tracking | None = None,
    eval_sets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on `dataset` (pairs with images), save the adapter (or full model) + processor to `out_dir`.

    `batch_size` caps the per-device batch (the train stage passes dpo.batch_size scaled down after
    an OOM retry; None: dpo.batch_size); the global batch stays dpo.batch_size x dpo.grad_accum.
    Resumes from the last complete `checkpoint-<step>` under `checkpoint_dir`. After training,
    every dataset of `eval_sets` (e.g. the training pairs themselves and held-out pairs) is scored
    pair by pair (every rank takes part): metrics `reward_accuracy_<name>`, `reward_margin_<name>`,
    `pairs_<name>`. `tracking` sends the run to the recipe's trackers (from rank 0). Returns `{"output": {path, rows, sha256} (None on ranks other than 0), "metrics": {...}}`.
    """
    from trl import DPOTrainer

    if reference_model not in schema_enum("training", "reference_model"):
        raise BadInput(f"unknown training.reference_model {reference_model!r}")
    full = bool(dpo["full_finetune"])
    model, processor, device = load_trainable(start, model_cfg, merge_adapter=full)
    vision = "images" in dataset.column_names
    if dpo["precompute_ref_log_probs"] and vision and ctx is not None:
        ctx.log("precompute_ref_log_probs ignored: TRL does not support it for vision datasets", level="warning")

    ref_model, peft_config = None, None
    if full:
        freeze_vision(model)
        ref_spec = reference or (start if reference_model == "round_start" else {"base": start["base"], "adapter": None})
        ref_model, _, _ = load_trainable(ref_spec, model_cfg, merge_adapter=True)
        ref_model.eval().requires_grad_(False)
    elif not start["adapter"]:
        peft_config = lora_config(dpo["lora"])

    layout = split_batch(
        int(dpo["batch_size"]) * int(dpo["grad_accum"]), int(dpo["batch_size"]) if batch_size is None else batch_size,
        collective.world_size(), field="training.dpo.batch_size x grad_accum",
    )  # fmt: skip
    strategy = resolve_strategy(distributed["strategy"], full_finetune=full, device=device, world_size=layout.world_size)
    if ctx is not None:
        ctx.log(f"{model_name}: {layout.describe()}; strategy {strategy}", **layout.metrics())
    tracking = tracking or Tracking()
    args = dpo_config(
        dpo, checkpoint_dir=checkpoint_dir, device=device, layout=layout, max_steps=max_steps, vision=vision, tracking=tracking,
        strategy=strategy_args(strategy, timeout_s=distributed["collective_timeout_s"], gradient_checkpointing=dpo["gradient_checkpointing"]),
    )  # fmt: skip
    metrics_cb = MetricsCallback(metrics_path, model_name, ctx, label=f"{model_name} DPO")
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config,
        callbacks=[metrics_cb, CheckpointMark(), *tracking.callbacks(), *(callbacks or [])],
    )
    quiet_trainer(trainer)
    tracking.attach(trainer)
    peft_cfgs = getattr(trainer.model, "peft_config", {})
    if not full and start["adapter"] and reference_model == "initial" and "ref" in peft_cfgs:
        trainer.model.delete_adapter("ref")
        trainer.model.set_adapter("default")

    resume = last_checkpoint(checkpoint_dir)
    resumed_from = int(resume.rsplit("-", 1)[-1]) if resume else 0
    out = trainer.train(resume_from_checkpoint=resume)

    # FSDP holds the weights in shards: gathering them is a collective, so every rank takes part.
    full_state = trainer.accelerator.get_state_dict(trainer.model_wrapped) if strategy == "fsdp" else None

    def write(tmp) -> None:
        if full:
            trainer.model.save_pretrained(tmp, state_dict=full_state)
        else:
            trainer.model.save_pretrained(tmp, selected_adapters=["default"])
        processor.save_pretrained(tmp)

    record = publish_dir(out_dir, write) if collective.is_main() else None
    metrics = summarize(metrics_cb.rows, model_name)
    for name, ds in (eval_sets or {}).items():
        metrics.update(reward_metrics(trainer, ds, name))
    metrics.update(
        steps=int(trainer.state.global_step),
        resumed_from_step=resumed_from,
        train_rows=len(dataset),
        train_loss=float(out.training_loss) if out.training_loss is not None else None,
        full_finetune=full,
        strategy=strategy,
        **layout.metrics(),
    )
    return {"output": record, "metrics": metrics}


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
        return {"final_loss": None, "first_batch_reward_accuracy": None, "last_batch_reward_accuracy": None, "first_batch_margin": None, "last_batch_margin": None}
    first, last = mine[0], mine[-1]
    return {
        "final_loss": last.get("loss"),
        "first_batch_reward_accuracy": first.get("rewards/accuracies"),
        "last_batch_reward_accuracy": last.get("rewards/accuracies"),
        "first_batch_margin": first.get("rewards/margins"),
        "last_batch_margin": last.get("rewards/margins"),
    }


def save_untrained(start: dict[str, Any], out_dir: str, dpo: dict[str, Any], model_cfg: dict[str, Any]) -> dict[str, Any] | None:
    """The output of a training with no pairs: the start model unchanged, in the usual format
    (written by rank 0 alone; None on the other ranks of a group).

    LoRA: the start adapter, or a fresh one (its B matrices are zero, so it equals the base);
    full fine-tuning: the start weights. The next round then loads it like any trained output.
    """
    full = bool(dpo["full_finetune"])
    if not collective.is_main():
        return None
    model, processor, _ = load_trainable(start, model_cfg, merge_adapter=full)
    if not full and not start["adapter"]:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(dpo["lora"]))

    def write(tmp) -> None:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)

    return publish_dir(out_dir, write)
