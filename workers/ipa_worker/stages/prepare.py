"""Stage `prepare` (round 0): tiny model and synthetic data (`data.synthetic`, data/synthetic.py) when asked, then the run's seed rows.

Outputs `seeds` (data/seeds.jsonl) and `rejected` (data/rejected_seeds.jsonl); a bad row is
rejected, never fatal (an image the model's processor would refuse included: see
`data.image_limits`); only a run with no usable seed at all is a BadInput.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.image_limits import ProcessorLimits
from ..data.jsonl_io import atomic_write_jsonl
from ..data.seed_sources import Source, load_seeds
from ..data.synthetic import resolve, synthetic_paths
from ..errors import BadInput
from ..models.tiny_model import build_tiny_model, is_complete_checkpoint


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe = payload["recipe"]
    settings = Recipe.from_dict(recipe)
    run_dir = payload["run_dir"]
    model_cfg = recipe["model"]
    data_cfg = recipe["data"]
    metrics: dict[str, Any] = {}

    base = resolve(settings.model.base, run_dir)
    if settings.model.build_tiny and not is_complete_checkpoint(base):
        ctx.phase(f"building the tiny model at {base}", label="building the tiny model")
        build_tiny_model(base, seed=settings.model.tiny_seed)
        metrics["built_tiny_model"] = True
    ctx.check_cancelled()

    sources = [Source.from_recipe({**s, "path": resolve(s["path"], run_dir)}) for s in data_cfg["sources"]]
    syn = synthetic_paths(recipe, run_dir)
    if syn is not None:
        sources.append(Source(path=syn["train"], format="jsonl", weight=1.0, name="synthetic"))
        metrics["synthetic_heldout"] = syn["heldout"]
    if not sources:
        raise BadInput("the recipe has no seed source: add data.sources or enable data.synthetic")
    ctx.check_cancelled()

    ctx.phase(f"reading seeds from {len(sources)} source{'' if len(sources) == 1 else 's'}", label="reading seeds")
    result = load_seeds(
        sources,
        images_dir=Path(run_dir) / "data" / "images",
        data_cfg=data_cfg,
        seed=settings.seed,
        allowed_roots=settings.allowed_roots,
        # A row whose image the model's processor would refuse is rejected here, with the reason.
        processor=ProcessorLimits.from_checkpoint(base, model_cfg),
    )
    ctx.progress(1, 1, force=True, seeds=len(result.seeds), rejected=len(result.rejected))
    if not result.seeds:
        reasons = "; ".join(f"{r['source']}:{r['line']}: {r['reason']}" for r in result.rejected[:5])
        raise BadInput(
            f"no usable seed in any source ({len(result.rejected)} rows rejected{': ' + reasons if reasons else ''})"
        )

    outputs = {
        "seeds": atomic_write_jsonl(payload["outputs"]["seeds"], result.seeds),
        "rejected": atomic_write_jsonl(payload["outputs"]["rejected"], result.rejected),
    }
    metrics.update(
        seeds=len(result.seeds),
        rejected=len(result.rejected),
        by_task_type=dict(sorted(Counter(r["task_type"] for r in result.seeds).items())),
        by_source=result.per_source,
    )
    return {"outputs": outputs, "metrics": metrics, "failed_items": []}
