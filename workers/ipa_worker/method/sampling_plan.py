"""What a seed is sampled on: K normal samples on (V, I) and K' contrastive ones on (t(V), I).

t is drawn per contrastive sample from an rng seeded by (run seed, round, seed id, sample index):
a retried job feeds the very same perturbed images, and each round perturbs afresh.
"""

from __future__ import annotations

import random
from typing import Any

from ..contract.recipe_types import Recipe
from ..seeding import stable_seed
from .perturbations import apply_perturbation, draw_perturbation


def plan_samples(
    seed_row: dict[str, Any], images: list, settings: Recipe, contrastive: bool, round_: int
) -> list[dict[str, Any]]:
    """The seed's samples: `{sample_id, kind, perturbation, images}`, normal ones first."""
    sampling = settings.sampling
    sid = seed_row["id"]
    samples = [
        {"sample_id": f"{sid}/n{k}", "kind": "normal", "perturbation": None, "images": images}
        for k in range(sampling.num_normal)
    ]
    for k in range(sampling.num_contrastive if contrastive else 0):
        rng = random.Random(stable_seed("perturb", settings.seed, round_, sid, k))
        params = draw_perturbation(sampling.perturbations, rng)
        perturbed = [apply_perturbation(img, params, rng) for img in images]
        samples.append({"sample_id": f"{sid}/c{k}", "kind": "contrastive", "perturbation": params, "images": perturbed})
    return samples
