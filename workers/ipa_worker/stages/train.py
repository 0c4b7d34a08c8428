"""Stage `train`: DPO of the policy on response pairs, and of the reviser on feedback pairs.

inputs: pairs (list of pair files), feedback_pairs (list, may be empty).
outputs: policy (adapter folder; a full checkpoint when training.dpo.full_finetune), reviser
(written only when training.train_reviser and there are feedback pairs), checkpoints (folder;
policy/ and reviser/ under it), metrics (train_metrics.jsonl).
models: generator (the policy's start: {base, adapter}; adapter = the previous round's when
training.adapters_from is previous), reviser (the reviser's start), and optionally reference
(the policy's DPO reference under full fine-tuning; the reviser's is derived from its start, see
training/dpo_trainer.py).

Zero response pairs is not an error: the policy output is the start model unchanged (its
adapter, or a fresh zero-effect adapter) with metrics steps 0 and skipped "no pairs", so the next
round loads it like any trained policy.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from ..serve.context import StageContext
from ..training.dpo_trainer import save_untrained, train_dpo
from ..training.pair_dataset import load_pairs
from .common import batch_size


def _paths(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(p) for p in value]


def _free() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe, inputs, outputs, models = payload["recipe"], payload["inputs"], payload["outputs"], payload["models"]
    training = recipe["training"]
    dpo = training["dpo"]
    ckpt_root = Path(outputs["checkpoints"])
    policy_start = models["generator"]
    common = dict(
        dpo=dpo, model_cfg=recipe["model"], reference_model=training["reference_model"],
        batch_size=batch_size(dpo["batch_size"], payload["options"]), metrics_path=outputs["metrics"], ctx=ctx,
    )  # fmt: skip
    result_outputs: dict[str, Any] = {}
    metrics: dict[str, Any] = {}

    epochs = f"{float(dpo['epochs']):g} epoch{'' if float(dpo['epochs']) == 1 else 's'}"
    pairs = load_pairs(_paths(inputs["pairs"]))
    if pairs is None:
        ctx.phase("policy: no response pairs, so the start model is kept unchanged", label="policy: saving the start model")
        result_outputs["policy"] = save_untrained(policy_start, outputs["policy"], dpo, recipe["model"])
        metrics.update(steps=0, train_rows=0, skipped="no pairs", final_loss=None)
    else:
        ctx.phase(f"policy DPO: {len(pairs)} pairs, {epochs}", label="policy DPO: loading model")
        res = train_dpo(
            pairs, start=policy_start, out_dir=outputs["policy"], checkpoint_dir=str(ckpt_root / "policy"),
            reference=models.get("reference"), model_name="policy", **common,
        )  # fmt: skip
        result_outputs["policy"] = res["output"]
        metrics.update(res["metrics"])
    del pairs
    _free()

    feedback = load_pairs(_paths(inputs["feedback_pairs"])) if training["train_reviser"] else None
    if feedback is not None:
        ctx.phase(f"reviser DPO: {len(feedback)} feedback pairs, {epochs}", label="reviser DPO: loading model")
        # Full fine-tuning's reference for the reviser follows the same rule as the policy's,
        # derived from its start spec (training/dpo_trainer.py).
        res = train_dpo(
            feedback, start=models["reviser"], out_dir=outputs["reviser"], checkpoint_dir=str(ckpt_root / "reviser"),
            reference=None, model_name="reviser", **common,
        )  # fmt: skip
        result_outputs["reviser"] = res["output"]
        metrics.update({f"reviser_{k}": v for k, v in res["metrics"].items()})
    else:
        ctx.phase("reviser: not trained (no feedback pairs, or training.train_reviser is off); the previous reviser stays in use")
        metrics["reviser_steps"] = 0
    ctx.progress(1, 1, force=True)
    return {"outputs": result_outputs, "metrics": metrics, "failed_items": []}
