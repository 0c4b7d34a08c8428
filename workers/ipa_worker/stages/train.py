"""Stage `train`: the policy's training after a round, by recipe training.objective.

- dpo (IPA): DPO of the policy on response pairs and of the reviser on feedback pairs.
  inputs: pairs, feedback_pairs (lists of pair files, may be empty). A share of the seeds
  (training.dpo.heldout_pairs) is kept out of training; after training, DPO reward accuracy and
  margin are measured over every training pair and over those held-out pairs.
- rft (baseline): SFT of the policy on its own verified responses (inputs: accepted, lists of the
  pair stage's `accepted` files), with training.sft and training.lora.
- sft_reference (baseline): SFT of the policy on the round's seeds' reference answers (inputs:
  seeds, the round's seed shards).
- sft_oracle (upper bound): SFT of the policy on the synthetic task's checker-made ideal answers
  for the round's seeds (training/task_truth.py `TaskTruth.ideal`; inputs: seeds).

Objectives that learn from verdicts (dpo, rft) first pass the verifier gate when the recipe sets
one (verifier.gate, evaluation/verifier_gate.py): below its level the job fails for good, before
training, with the figures; above it the figures join the metrics (`gate_*`). Every rank of a
group judges the audit set (greedy: the same verdicts), so all stop together.

outputs: policy (adapter folder; a full checkpoint when training.dpo.full_finetune), reviser
(dpo only, written only when training.train_reviser and there are feedback pairs), checkpoints
(folder; policy/ and reviser/ under it), metrics (train_metrics.jsonl).
models: generator (the policy's start: {base, adapter}; adapter = the previous round's when
training.adapters_from is previous), reviser (the reviser's start), and optionally reference
(the policy's DPO reference under full fine-tuning; the reviser's is derived from its start, see
training/dpo_trainer.py).

A pair whose image the processor would refuse is left out as a failed item (naming its seed and
image), never a crash of the whole training.

With several training processes (ipa_worker.launch) every rank runs this function; rank 0's
result is the job's. Nothing to learn from is not an error: the policy output is the start model
unchanged (its adapter, or a fresh zero-effect adapter) with metrics steps 0 and `skipped`, so the
next round loads it like any trained policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.image_limits import ProcessorLimits
from ..data.run_files import iter_jsonl_in
from ..evaluation.verifier_gate import run_gate
from ..models.memory import release_memory
from ..training.dpo_trainer import DpoJob, save_untrained, train_dpo
from ..training.pair_dataset import read_pair_rows, rows_to_dataset, split_by_seed
from ..training.sft_trainer import SftJob, SftSettings, answer_examples, examples_to_dataset, train_sft
from ..training.task_truth import TaskTruth
from ..training.tracking import tracking_for
from .common import batch_size, epochs_words


def _paths(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(p) for p in value]


def _tracking(payload: dict[str, Any], model: str):
    return tracking_for(
        payload["recipe"], run_id=payload["run_id"], run_dir=payload["run_dir"], round=payload["round"], model=model
    )


def _dpo(
    payload: dict[str, Any],
    ctx: StageContext,
    paths: list[str],
    start: dict[str, Any],
    name: str,
    reference,
    failed: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """DPO of one model on the pairs in `paths`, with held-out seeds scored after; None if no pairs.
    Pairs with an image the processor would refuse are appended to `failed` and left out."""
    recipe, outputs = Recipe.from_dict(payload["recipe"]), payload["outputs"]
    model_cfg = payload["recipe"]["model"]
    dpo = recipe.training.dpo
    rows, refused = read_pair_rows(
        paths, ProcessorLimits.from_checkpoint(start["base"], model_cfg), run_dir=payload["run_dir"]
    )
    failed.extend(refused)
    train_rows, held = split_by_seed(rows, dpo.heldout_pairs)
    if not train_rows:
        return None
    what = f"{len(train_rows)} {'feedback pairs' if name == 'reviser' else 'pairs'}"
    held_out = f" ({len(held)} held out to measure reward accuracy)" if held else ""
    ctx.phase(f"{name} DPO: {what}{held_out}, {epochs_words(dpo.epochs)}", label=f"{name} DPO: loading model")
    train_set = rows_to_dataset(train_rows)
    job = DpoJob(
        start=start, out_dir=outputs[name], checkpoint_dir=str(Path(outputs["checkpoints"]) / name), model_name=name, reference=reference,
        batch_size=batch_size(dpo.batch_size, payload["options"]), metrics_path=outputs["metrics"],
    )  # fmt: skip
    res = train_dpo(
        train_set, job, recipe.training, model_cfg, ctx=ctx, tracking=_tracking(payload, name),
        eval_sets={"train_pairs": train_set, "heldout_pairs": rows_to_dataset(held) if held else None},
    )  # fmt: skip
    release_memory()
    return res


def _supervised(payload: dict[str, Any], ctx: StageContext, examples: list[dict[str, Any]]) -> dict[str, Any]:
    """LoRA (or full) SFT of the policy for the baseline objectives; publishes like a DPO policy."""
    recipe, outputs = Recipe.from_dict(payload["recipe"]), payload["outputs"]
    settings = SftSettings.baseline(recipe)
    ctx.phase(
        f"policy SFT ({recipe.training.objective}): {len(examples)} examples, {epochs_words(settings.epochs)}",
        label="policy SFT: loading model",
    )
    job = SftJob(
        start=payload["models"]["generator"], out_dir=outputs["policy"], checkpoint_dir=str(Path(outputs["checkpoints"]) / "policy"),
        model_name="policy", merge=False, batch_size=batch_size(settings.batch_size, payload["options"]), metrics_path=outputs["metrics"],
    )  # fmt: skip
    return train_sft(
        examples_to_dataset(examples),
        job,
        settings,
        payload["recipe"]["model"],
        ctx=ctx,
        tracking=_tracking(payload, "policy"),
    )


def _untrained(payload: dict[str, Any], ctx: StageContext, why: str) -> dict[str, Any]:
    words = {"no pairs": "no response pairs", "no examples": "no training examples"}[why]
    ctx.phase(
        f"policy: {words}, so the start model is kept unchanged",
        label="policy: saving the start model",
        level="warning",
    )
    training = Recipe.from_dict(payload["recipe"]).training
    out = save_untrained(
        payload["models"]["generator"], payload["outputs"]["policy"], training, payload["recipe"]["model"]
    )
    return {"output": out, "metrics": {"steps": 0, "train_rows": 0, "skipped": why, "final_loss": None}}


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    inputs, models = payload["inputs"], payload["models"]
    training = Recipe.from_dict(payload["recipe"]).training
    objective = training.objective
    result_outputs: dict[str, Any] = {}
    metrics: dict[str, Any] = {"objective": objective}
    failed: list[dict[str, Any]] = []

    verifier = Recipe.from_dict(payload["recipe"]).verifier
    if objective in ("dpo", "rft") and verifier.gate.enabled and verifier.kind == "model":
        figures = run_gate(payload, ctx)
        metrics.update({f"gate_{k}": v for k, v in figures.items() if k != "checks"})
        metrics.update({f"gate_{c}": v for c, v in figures.get("checks", {}).items()})

    if objective == "dpo":
        res = _dpo(
            payload, ctx, _paths(inputs.get("pairs")), models["generator"], "policy", models.get("reference"), failed
        )
        res = res or _untrained(payload, ctx, "no pairs")
    else:
        # Run files only: a pipe, or a link or record leading out of the run, is refused (data/run_files.py).
        run_dir = payload["run_dir"]
        if objective == "rft":
            rows = [r for p in _paths(inputs.get("accepted")) for r in iter_jsonl_in(p, run_dir)]
            examples = answer_examples(rows, text_key="text")
        elif objective == "sft_oracle":
            truth = TaskTruth(payload["recipe"], run_dir)
            seeds = [r for p in _paths(inputs.get("seeds")) for r in iter_jsonl_in(p, run_dir)]
            examples = answer_examples([{**s, "ideal": truth.ideal(s)} for s in seeds], text_key="ideal")
        else:
            examples = answer_examples([r for p in _paths(inputs.get("seeds")) for r in iter_jsonl_in(p, run_dir)])
        res = _supervised(payload, ctx, examples) if examples else _untrained(payload, ctx, "no examples")
    result_outputs["policy"] = res["output"]
    metrics.update(res["metrics"])

    feedback = _paths(inputs.get("feedback_pairs")) if objective == "dpo" and training.train_reviser else []
    # Full fine-tuning's reference for the reviser follows the same rule as the policy's, derived
    # from its start spec (training/dpo_trainer.py).
    rev = _dpo(payload, ctx, feedback, models["reviser"], "reviser", None, failed) if feedback else None
    if rev is not None:
        result_outputs["reviser"] = rev["output"]
        metrics.update({f"reviser_{k}": v for k, v in rev["metrics"].items()})
    else:
        ctx.phase(
            "reviser: not trained (no feedback pairs, or training.train_reviser is off); the previous reviser stays in use"
        )
        metrics["reviser_steps"] = 0
    ctx.progress(1, 1, force=True)
    metrics["failed_pairs"] = len(failed)
    return {"outputs": result_outputs, "metrics": metrics, "failed_items": failed}
