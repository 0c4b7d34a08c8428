"""What the stage handlers share: seed rows by id and their images, batch sizes under OOM
retries, the progress callback batched work reports through, and words for training phases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.image_limits import ProcessorLimits, image_problem
from ..data.images import load_image
from ..data.jsonl_io import read_jsonl
from ..errors import BadInput


def seeds_by_id(path: str) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in read_jsonl(path)}


def optional_rows(inputs: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Rows of an input that may be absent (revision off): a missing key or null reads as none."""
    path = inputs.get(name)
    return read_jsonl(path) if path else []


def batch_size(base: int, options: dict[str, Any]) -> int:
    """A recipe batch size scaled by options.batch_scale (halved after each CUDA OOM retry), at least 1."""
    return max(1, int(base * options["batch_scale"]))


def epochs_words(epochs: float) -> str:
    """`1.0` → "1 epoch", `2.5` → "2.5 epochs": the end of a training phase's title."""
    return f"{epochs:g} epoch{'' if epochs == 1 else 's'}"


def batch_progress(ctx: StageContext, phase: str | None = None) -> Callable[..., None]:
    """The `on_batch(done, total, **metrics)` for batched work (generation adds `tokens_per_s`):
    report progress, named `phase` when given, then stop if cancelled."""

    def on_batch(done: int, total: int, **metrics: Any) -> None:
        named = {"phase": phase} if phase else {}
        ctx.progress(done, total, **named, **{k: v for k, v in metrics.items() if v is not None})
        ctx.check_cancelled()

    return on_batch


class SeedImages:
    """Loads each seed's images once; a seed whose images fail is remembered with the reason.

    With `limits`, an image the model's processor would refuse fails its seed too (data.image_limits).
    """

    def __init__(self, settings: Recipe, limits: ProcessorLimits | None = None):
        self.max_bytes = settings.data.max_image_bytes
        self.max_side = settings.data.max_image_side
        self.limits = limits
        self._cache: dict[str, list] = {}
        self.errors: dict[str, str] = {}

    def get(self, seed: dict[str, Any]) -> list | None:
        sid = seed["id"]
        if sid in self._cache:
            return self._cache[sid]
        if sid in self.errors:
            return None
        try:
            images = [load_image(p, max_bytes=self.max_bytes, max_side=self.max_side) for p in seed["images"]]
        except BadInput as exc:
            self.errors[sid] = str(exc)
            return None
        problem = first_image_problem(images, seed["images"], self.limits) if self.limits else None
        if problem:
            self.errors[sid] = problem
            return None
        self._cache[sid] = images
        return images


def first_image_problem(images: list, paths: list[str], limits: ProcessorLimits, what: str = "") -> str | None:
    """`<path>[ what]: <reason>` for the first image the processor would refuse, or None."""
    for img, path in zip(images, paths):
        problem = image_problem(img, limits)
        if problem:
            return f"{path}{what}: {problem}"
    return None
