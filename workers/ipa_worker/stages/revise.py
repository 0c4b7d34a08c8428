"""Stage `revise`: feedback then a refined response for failed responses (payload models.reviser).

inputs: responses, verdicts, seeds; outputs: revisions. Per seed at most
reviser.max_revisions_per_seed failed responses are revised: normal ones before contrastive ones
(their refinements pair best with what the generator says on the real image), identical texts
once. Each gets reviser.feedbacks_per_response feedback samples (`<source>/r<k>`), each refined,
so feedback pairs can compare feedbacks written on the same response. options.reference_guided
switches to the feedback template that also sees r_ref. With reviser.control_refinements each
row also gets `control_refined`: the same response refined once with empty feedback (the
repair-rate control; see verify_revisions).
"""

from __future__ import annotations

from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from ..method.reviser import Templates, revise
from ..seeding import stable_seed
from .common import SeedImages, batch_progress, batch_size, seeds_by_id


def _order(row: dict[str, Any]) -> tuple:
    tail = row["sample_id"].rsplit("/", 1)[-1]
    index = int(tail[1:]) if tail[1:].isdigit() else 0
    return (0 if row.get("kind", "normal") == "normal" else 1, index, row["sample_id"])


def select_failed(responses: list[dict[str, Any]], verdicts: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The failed responses to revise, at most `limit` per seed, distinct texts, normal first."""
    failed_ids = {v["sample_id"] for v in verdicts if v["verdict"] == 0}
    per_seed: dict[str, list[dict[str, Any]]] = {}
    for r in sorted((r for r in responses if r["sample_id"] in failed_ids), key=_order):
        picked = per_seed.setdefault(r["seed_id"], [])
        if len(picked) < limit and all(p["response"].strip() != r["response"].strip() for p in picked):
            picked.append(r)
    return [r for seed_id in sorted(per_seed) for r in per_seed[seed_id]]


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe, options = payload["recipe"], payload["options"]
    settings = Recipe.from_dict(recipe)
    cfg = settings.reviser
    guided = options["reference_guided"]
    seeds = seeds_by_id(payload["inputs"]["seeds"])
    todo = select_failed(
        read_jsonl(payload["inputs"]["responses"]),
        read_jsonl(payload["inputs"]["verdicts"]),
        cfg.max_revisions_per_seed,
    )
    templates = Templates(recipe["reviser"])
    images = SeedImages(settings)
    failed: list[dict[str, Any]] = []
    items, sources = [], []
    for r in todo:
        seed = seeds.get(r["seed_id"])
        imgs = images.get(seed) if seed else None
        if imgs is None:
            failed.append(
                {
                    "id": r["sample_id"],
                    "reason": images.errors.get(r["seed_id"], f"seed {r['seed_id']} not in the seeds shard"),
                }
            )
            continue
        for k in range(cfg.feedbacks_per_response):
            sample_id = f"{r['sample_id']}/r{k}"
            item_seed = stable_seed("revise", settings.seed, payload["round"], sample_id, bits=62)
            items.append(
                {
                    "images": imgs,
                    "instruction": seed["instruction"],
                    "response": r["response"],
                    "reference": seed["reference"],
                    "seed": item_seed,
                }
            )
            sources.append((r, sample_id))

    results = []
    ctx.phase(
        f"revising {len(todo)} failed responses: {len(items)} feedback and refinement pairs{' (reference-guided)' if guided else ''}",
        label="revising",
    )
    if items:
        results = revise(
            ctx.role(payload, "reviser"),
            items,
            templates=templates,
            reference_guided=guided,
            temperature=cfg.temperature,
            max_new_tokens=cfg.max_new_tokens,
            batch_size=batch_size(settings.sampling.batch_size, options),
            on_batch=batch_progress(ctx, "revising"),
            control=cfg.control_refinements,
        )
    rows = [
        {
            "seed_id": src["seed_id"],
            "sample_id": sample_id,
            "source_sample_id": src["sample_id"],
            "feedback": res["feedback"],
            "refined": res["refined"],
            "reference_guided": guided,
            **({"control_refined": res["control_refined"]} if "control_refined" in res else {}),
        }
        for (src, sample_id), res in zip(sources, results)
    ]
    out = atomic_write_jsonl(payload["outputs"]["revisions"], rows)
    ctx.progress(len(rows), len(rows), force=True)
    metrics = {
        "revisions": len(rows),
        "revised_responses": len({r["source_sample_id"] for r in rows}),
        "seeds": len({r["seed_id"] for r in rows}),
        "reference_guided": guided,
        **ctx.generation.metrics(),
    }
    return {"outputs": {"revisions": out}, "metrics": metrics, "failed_items": failed}
