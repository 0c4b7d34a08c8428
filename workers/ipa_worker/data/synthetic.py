"""The recipe's synthetic task (`data.synthetic`): where its files are.

`synthetic_paths` builds the task the recipe names (canonical or premise) once and returns its
split files. Its ground truth by row id is training/task_truth.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .premise_task import generate_premise
from .synthetic_task import generate_synthetic


def resolve(path: str, run_dir: str) -> str:
    """recipe.json paths are absolute; a relative one (hand-written payloads) is taken from the run dir."""
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else Path(run_dir) / p)


def synthetic_paths(recipe: dict[str, Any], run_dir: str) -> dict[str, str] | None:
    """Generate the synthetic task if the recipe enables it (once); returns its split paths."""
    syn = recipe["data"]["synthetic"]
    if not syn["enabled"]:
        return None
    sizes = dict(
        train=int(syn["train_size"]),
        heldout=int(syn["heldout_size"]),
        warmup=int(syn["warmup_size"]),
        validation=int(syn["validation_size"]),
    )
    out = resolve(syn["output_dir"], run_dir)
    if syn["task"] == "premise":
        return generate_premise(
            out,
            **sizes,
            audit=int(syn["audit_size"]),
            seed=int(syn["seed"]),
            image_size=int(syn["image_size"]),
            control_share=float(syn["control_share"]),
        )
    return generate_synthetic(out, **sizes, seed=int(syn["seed"]), image_size=int(syn["image_size"]))
