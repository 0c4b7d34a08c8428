"""Stage `eval`: greedy accuracy of the round's policy on the local benchmarks.

Benchmarks are `eval.benchmarks` plus the synthetic held-out split when `data.synthetic.enabled`.
Writes `eval/round-<r>.json`: `{round, model, overall, by_task, by_benchmark, n, examples}`.
"""

from __future__ import annotations

from typing import Any

from ..data.jsonl_io import atomic_write_json
from ..evaluation.benchmarks import Benchmark, evaluate
from ..serve.context import StageContext
from .common import batch_progress, batch_size
from .prepare import resolve, synthetic_paths


def benchmarks_of(recipe: dict[str, Any], run_dir: str) -> list[Benchmark]:
    benches = [
        Benchmark(name=b["name"], path=resolve(b["path"], run_dir), max_rows=b.get("max_rows"))
        for b in recipe["eval"]["benchmarks"]
    ]
    syn = synthetic_paths(recipe, run_dir)  # already built by prepare: returns at once
    if syn is not None:
        benches.append(Benchmark(name="synthetic", path=syn[recipe["data"]["synthetic"]["eval_split"]]))
    return benches


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe = payload["recipe"]
    eval_cfg, data_cfg = recipe["eval"], recipe["data"]
    spec = payload["models"]["generator"]
    benches = benchmarks_of(recipe, payload["run_dir"])
    if benches:
        lm = ctx.model(spec, recipe["model"])
        result = evaluate(
            lm,
            benches,
            max_new_tokens=int(eval_cfg["max_new_tokens"]),
            batch_size=batch_size(eval_cfg["batch_size"], payload["options"]),
            max_image_bytes=int(data_cfg["max_image_bytes"]),
            max_image_side=int(data_cfg["max_image_side"]),
            on_batch=batch_progress(ctx),
        )
    else:
        result = {"overall": None, "by_task": {}, "by_benchmark": {}, "counts": {}, "n": 0, "examples": [], "failed_items": []}
    failed = result.pop("failed_items")
    doc = {"round": payload["round"], "model": {"base": spec["base"], "adapter": spec["adapter"]}, **result}
    out = atomic_write_json(payload["outputs"]["eval"], doc)
    metrics = {"overall": result["overall"], "n": result["n"], "by_task": result["by_task"], "by_benchmark": result["by_benchmark"]}
    return {"outputs": {"eval": out}, "metrics": metrics, "failed_items": failed}
