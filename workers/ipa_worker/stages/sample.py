"""Stage `sample`: K normal responses on (V, I) and K' contrastive ones on (t(V), I) per seed.

What each seed is sampled on comes from `method.sampling_plan`; generation is batched across
seeds. A seed whose image can no longer be read, or a sample whose (perturbed) image the
processor would refuse, fails alone (failed_items naming the seed, image and why); the others go on.
"""

from __future__ import annotations

from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.image_limits import ProcessorLimits
from ..data.images import image_digest
from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from ..method.sampling_plan import plan_samples
from ..models.messages import user_messages
from ..seeding import stable_seed
from .common import SeedImages, batch_progress, batch_size, first_image_problem


def sample_seed(run_seed: int, round_: int, sample_id: str) -> int:
    """The seed of one response: (run seed, round, seed id and sample index), as the schema says."""
    return stable_seed("sample", int(run_seed), int(round_), sample_id, bits=62)


def seeds_of(samples: list[dict[str, Any]]) -> set[str]:
    return {s["seed"]["id"] for s in samples}


def _perturbed(s: dict[str, Any]) -> str:
    p = s.get("perturbation")
    return f" (sample {s['sample_id']}, {p['kind']} perturbation)" if p else f" (sample {s['sample_id']})"


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe, options = payload["recipe"], payload["options"]
    settings = Recipe.from_dict(recipe)
    seeds = read_jsonl(payload["inputs"]["seeds"])

    # What the generator's processor takes: an image it would refuse fails its seed or sample alone.
    limits = ProcessorLimits.from_checkpoint(payload["models"]["generator"]["base"], recipe["model"])
    images = SeedImages(settings, limits)
    failed: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    for seed_row in seeds:
        ctx.check_cancelled()
        imgs = images.get(seed_row)
        if imgs is None:
            failed.append({"id": seed_row["id"], "reason": images.errors[seed_row["id"]]})
            continue
        for s in plan_samples(seed_row, imgs, settings, options["contrastive"], payload["round"]):
            problem = first_image_problem(s["images"], seed_row["images"], limits, _perturbed(s))
            if problem:
                failed.append({"id": seed_row["id"], "reason": problem})
                continue
            s["seed"] = seed_row
            samples.append(s)

    bs = batch_size(settings.sampling.batch_size, options)
    # Every response has its own seed: a retry, or a retry with half the batch, writes the same texts.
    seeds = [sample_seed(settings.seed, payload["round"], s["sample_id"]) for s in samples]
    prompts = [
        {"images": s["images"], "messages": user_messages(s["seed"]["instruction"], len(s["images"])), "seed": g}
        for s, g in zip(samples, seeds)
    ]

    normal = sum(s["kind"] == "normal" for s in samples)
    ctx.phase(
        f"sampling {len(prompts)} responses ({normal} normal, {len(prompts) - normal} contrastive) for {len(seeds_of(samples))} seeds",
        label="sampling",
    )
    sampling = settings.sampling
    params = dict(
        temperature=sampling.temperature, top_p=sampling.top_p, max_new_tokens=sampling.max_new_tokens, batch_size=bs
    )
    answers = (
        ctx.role(payload, "generator").generate(prompts, on_batch=batch_progress(ctx, "sampling"), **params)
        if prompts
        else []
    )

    rows = []
    for s, a, g in zip(samples, answers, seeds):
        if a.get("error"):  # refused by the processor after all: this sample alone
            failed.append(
                {"id": s["seed"]["id"], "reason": f"{', '.join(s['seed']['images'])}{_perturbed(s)}: {a['error']}"}
            )
            continue
        rows.append(
            {
                "seed_id": s["seed"]["id"],
                "sample_id": s["sample_id"],
                "kind": s["kind"],
                "perturbation": s["perturbation"],
                "response": a["text"],
                "gen_seed": g,
                "num_tokens": a["num_tokens"],
                "image_sha256": image_digest(s["images"]),
            }
        )
    out = atomic_write_jsonl(payload["outputs"]["responses"], rows)
    ctx.progress(len(rows), len(rows), force=True)
    answered = {r["seed_id"] for r in rows}
    metrics = {
        "seeds": len(answered),
        "failed_seeds": len({f["id"] for f in failed} - answered),
        "failed_samples": len(failed),
        "responses": len(rows),
        "normal": sum(r["kind"] == "normal" for r in rows),
        "contrastive": sum(r["kind"] == "contrastive" for r in rows),
        "batch_size": bs,
        **ctx.generation.metrics(),
    }
    return {"outputs": {"responses": out}, "metrics": metrics, "failed_items": failed}
