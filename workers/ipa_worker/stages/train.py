"""Stage `train`: DPO of the policy on response pairs, and of the reviser on feedback pairs.

inputs: pairs (list of pair files), feedback_pairs (list, may be empty or absent).
outputs: policy (adapter folder; a full checkpoint when training.dpo.full_finetune), reviser
(written only when training.train_reviser and there are feedback pairs), checkpoints (folder;
policy/ and reviser/ under it), metrics (train_metrics.jsonl).
models: generator (the policy's start: {base, adapter}; adapter = the previous round's when
training.adapters_from is previous), reviser (the reviser's start), and optionally reference /
reviser_reference (full fine-tuning's DPO reference; see training/dpo.py).

Zero response pairs is not an error: the policy output is the start model unchanged (its
adapter, or a fresh zero-effect adapter) with metrics steps 0 and skipped "no pairs", so the next
round loads it like any trained policy.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..serve.context import StageContext
from ..training.dpo_trainer import save_untrained, train_dpo
from ..training.pair_dataset import load_pairs


def _paths(value: Any) -> list[str]:
    if value is None:
        return []
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
    recipe, inputs, outputs = payload["recipe"], payload["inputs"], payload["outputs"]
    models = payload.get("models") or {}
    training = recipe["training"]
    dpo = training["dpo"]
    scale = float(payload.get("options", {}).get("batch_scale", 1.0))
    ckpt_root = Path(outputs["checkpoints"])
    metrics_path = outputs.get("metrics")
    policy_start = models.get("generator") or models.get("policy")
    if not policy_start:
        raise BadInput("train: payload models.generator (the policy's start) is missing")

    common = dict(dpo=dpo, model_cfg=recipe["model"], reference_model=training.get("reference_model", "initial"), batch_scale=scale, metrics_path=metrics_path, ctx=ctx)
    result_outputs: dict[str, Any] = {}
    metrics: dict[str, Any] = {}

    pairs = load_pairs(_paths(inputs.get("pairs")))
    if pairs is None:
        ctx.log("train: no response pairs; the policy output is its start model unchanged", level="warning")
        result_outputs["policy"] = save_untrained(policy_start, outputs["policy"], dpo, recipe["model"])
        metrics.update(steps=0, train_rows=0, skipped="no pairs", final_loss=None)
    else:
        res = train_dpo(
            pairs, start=policy_start, out_dir=outputs["policy"], checkpoint_dir=str(ckpt_root / "policy"),
            reference=models.get("reference"), model_name="policy", **common,
        )  # fmt: skip
        result_outputs["policy"] = res["output"]
        metrics.update(res["metrics"])
    del pairs
    _free()

    feedback = load_pairs(_paths(inputs.get("feedback_pairs"))) if training.get("train_reviser", True) else None
    reviser_start = models.get("reviser")
    if feedback is not None and reviser_start and outputs.get("reviser"):
        res = train_dpo(
            feedback, start=reviser_start, out_dir=outputs["reviser"], checkpoint_dir=str(ckpt_root / "reviser"),
            reference=models.get("reviser_reference"), model_name="reviser", **common,
        )  # fmt: skip
        result_outputs["reviser"] = res["output"]
        metrics.update({f"reviser_{k}": v for k, v in res["metrics"].items()})
    else:
        metrics["reviser_steps"] = 0
    ctx.progress(1, 1, force=True)
    return {"outputs": result_outputs, "metrics": metrics, "failed_items": []}
