"""Stage `eval`: the round's policy on the local benchmarks and, when enabled, on lmms-eval's tasks.

Built-in: greedy accuracy on `eval.benchmarks` plus the synthetic held-out split when
`data.synthetic.enabled`. lmms-eval (`eval.lmms_eval.enabled`): the recipe's tasks in a child
process on the same policy (evaluation/lmms_backend.py). Round 0 is the starting model, so every
run has its baseline from the same backends.

Writes `eval/round-<r>.json`: `{round, model, overall, by_task, by_benchmark, benchmarks, counts, n,
examples, lmms_eval}`. `overall` and `by_task` are the built-in item accuracy (null without local
benchmarks); `by_benchmark` holds one number per benchmark from either backend, and
`benchmarks[name]` says how it was measured (backend, metric, n, ...). The numbers also go to the
recipe's experiment trackers (`training.report_to`, evaluation/eval_tracking.py).

The premise task adds `premise` (fact accuracy, compliance, success, per family and per item,
evaluation/premise_scores.py) and, at round 0 with `eval.min_warmup_fact_accuracy`, `warmup_gate`:
the warm-up's fact accuracy on the validation split against that level (`passed`); below it the
run cannot judge the premise, and the report says so.
"""

from __future__ import annotations

from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.jsonl_io import atomic_write_json, sha256_file
from ..data.synthetic import resolve, synthetic_paths
from ..evaluation.benchmarks import Benchmark, evaluate
from ..evaluation.eval_tracking import log_eval
from ..evaluation.lmms_backend import evaluate_with_lmms
from .common import batch_progress, batch_size

NO_BUILTIN = {
    "overall": None,
    "by_task": {},
    "by_benchmark": {},
    "counts": {},
    "n": 0,
    "examples": [],
    "premise": None,
    "failed_items": [],
}


def benchmarks_of(recipe: dict[str, Any], run_dir: str) -> list[Benchmark]:
    benches = [
        Benchmark(name=b["name"], path=resolve(b["path"], run_dir), max_rows=b.get("max_rows"))
        for b in recipe["eval"]["benchmarks"]
    ]
    syn = synthetic_paths(recipe, run_dir)  # already built by prepare: returns at once
    if syn is not None:
        benches.append(Benchmark(name="synthetic", path=syn[recipe["data"]["synthetic"]["eval_split"]]))
    return benches


def builtin_details(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """How the built-in evaluator measured each benchmark: item accuracy (a fraction)."""
    counts = result["counts"].get("by_benchmark", {})
    return {
        name: {
            "backend": "builtin",
            "kind": "task",
            "metric": "accuracy",
            "value": value,
            "higher_is_better": True,
            "n": counts.get(name),
        }
        for name, value in result["by_benchmark"].items()
    }


def _builtin(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe = payload["recipe"]
    benches = benchmarks_of(recipe, payload["run_dir"])
    if not benches:
        return dict(NO_BUILTIN)
    settings = Recipe.from_dict(recipe)
    ctx.phase(f"evaluating on {', '.join(b.name for b in benches)}", label="evaluating")
    return evaluate(
        ctx.role(payload, "generator"),
        benches,
        max_new_tokens=settings.eval.max_new_tokens,
        batch_size=batch_size(settings.eval.batch_size, payload["options"]),
        max_image_bytes=settings.data.max_image_bytes,
        max_image_side=settings.data.max_image_side,
        on_batch=batch_progress(ctx, "evaluating"),
    )


def warmup_gate(payload: dict[str, Any], ctx: StageContext, result: dict[str, Any]) -> dict[str, Any] | None:
    """Round 0 of a premise run with a gate: the warm-up's fact accuracy on validation vs the level."""
    recipe = payload["recipe"]
    syn, level = recipe["data"]["synthetic"], recipe["eval"].get("min_warmup_fact_accuracy")
    if payload["round"] != 0 or level is None or not syn["enabled"] or syn["task"] != "premise":
        return None
    if syn["eval_split"] == "validation" and result.get("premise"):
        scored = result["premise"]
    else:
        path = synthetic_paths(recipe, payload["run_dir"])["validation"]
        lm = ctx.role(payload, "generator")
        eval_cfg, data_cfg = recipe["eval"], recipe["data"]
        scored = evaluate(
            lm, [Benchmark(name="validation", path=path)], max_new_tokens=int(eval_cfg["max_new_tokens"]),
            batch_size=batch_size(eval_cfg["batch_size"], payload["options"]), max_image_bytes=int(data_cfg["max_image_bytes"]),
            max_image_side=int(data_cfg["max_image_side"]), on_batch=batch_progress(ctx),
        )["premise"]  # fmt: skip
    if scored is None:
        return None
    accuracy = scored["fact_accuracy"]
    return {
        "split": "validation",
        "fact_accuracy": accuracy,
        "level": float(level),
        "passed": accuracy is not None and accuracy >= float(level),
        "n": scored["n"],
    }


def _lmms(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any] | None:
    recipe = payload["recipe"]
    lmms = recipe["eval"]["lmms_eval"]
    if not lmms["enabled"]:
        return None
    if ctx.models is not None:
        ctx.models.clear()  # the child process loads the policy itself: free this process's engine
    return evaluate_with_lmms(
        payload["models"]["generator"],
        recipe,
        payload["outputs"]["lmms_eval"],
        ctx,
        batch_size=batch_size(lmms["batch_size"], payload["options"]),
    )


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    spec = payload["models"]["generator"]
    result = _builtin(payload, ctx)
    failed = result.pop("failed_items")
    gate = warmup_gate(payload, ctx, result)
    lmms = _lmms(payload, ctx)
    by_benchmark = dict(result["by_benchmark"]) | (lmms["by_benchmark"] if lmms else {})
    doc = {
        "round": payload["round"],
        "model": {"base": spec["base"], "adapter": spec["adapter"]},
        **result,
        "by_benchmark": by_benchmark,
        "benchmarks": builtin_details(result) | (lmms["benchmarks"] if lmms else {}),
        "lmms_eval": None if lmms is None else {k: lmms[k] for k in ("results_file", "seconds", "n_shot", "warnings")},
        "warmup_gate": gate,
    }
    outputs = {"eval": atomic_write_json(payload["outputs"]["eval"], doc)}
    if lmms is not None:
        results = lmms["results_file"]
        outputs["lmms_eval"] = {"path": results, "rows": len(lmms["benchmarks"]), "sha256": sha256_file(results)}
    log_eval(
        payload["recipe"],
        by_benchmark,
        ctx,
        run_id=payload["run_id"],
        run_dir=payload["run_dir"],
        round=payload["round"],
    )
    metrics = {
        "overall": result["overall"],
        "n": result["n"],
        "by_task": result["by_task"],
        "by_benchmark": by_benchmark,
        **ctx.generation.metrics(),
    }
    if result.get("premise"):
        metrics.update({k: result["premise"][k] for k in ("fact_accuracy", "compliance", "success")})
    if gate is not None:
        metrics["warmup_gate_passed"] = gate["passed"]
    return {"outputs": outputs, "metrics": metrics, "failed_items": failed}
