"""What the Qwen2-VL image processor accepts, checked per image before any model sees it.

The processor resizes every image with `smart_resize` (sides to multiples of patch_size x
merge_size, area into [min_pixels, max_pixels]) and raises for an aspect ratio over 200:1; an
image far thinner than that is resized to more pixels than max_pixels allows. One such image
used to fail a whole shard (and be retried, though the error is deterministic); here it is
named with its reason, so `prepare` rejects its row and the stages skip only that item.

The resize itself is the installed transformers function, so the check follows the processor
the models use. Frame count and pixel mode are checked when the file is decoded
(`data.images.load_image`): the model sees one 8-bit RGB picture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Qwen2-VL's processor: patches of 14 px merged 2 x 2, aspect ratio at most 200 (smart_resize).
_DEFAULT_PATCH, _DEFAULT_MERGE = 14, 2
MAX_ASPECT_RATIO = 200


@dataclass(frozen=True)
class ProcessorLimits:
    """The numbers smart_resize works with: factor = patch_size x merge_size, and the area bounds."""

    factor: int
    min_pixels: int
    max_pixels: int

    @classmethod
    def from_checkpoint(cls, base: str, model_cfg: dict[str, Any]) -> ProcessorLimits:
        """From the checkpoint's preprocessor_config.json, with the recipe's min/max_pixels (as `load_processor` applies them)."""
        cfg: dict[str, Any] = {}
        # transformers 5 nests it in processor_config.json; older checkpoints have preprocessor_config.json.
        for name, key in (("preprocessor_config.json", None), ("processor_config.json", "image_processor")):
            path = Path(base) / name
            if path.is_file():
                doc = json.loads(path.read_text(encoding="utf-8"))
                cfg = doc.get(key, {}) if key else doc
                break
        factor = int(cfg.get("patch_size", _DEFAULT_PATCH)) * int(cfg.get("merge_size", _DEFAULT_MERGE))
        return cls(factor=factor, min_pixels=int(model_cfg["min_pixels"]), max_pixels=int(model_cfg["max_pixels"]))

    @classmethod
    def from_processor(cls, processor) -> ProcessorLimits:
        """From a loaded processor (what `generate` and training use)."""
        ip = processor.image_processor
        size = getattr(ip, "size", None) or {}
        min_pixels = getattr(ip, "min_pixels", None) or size.get("shortest_edge")
        max_pixels = getattr(ip, "max_pixels", None) or size.get("longest_edge")
        return cls(
            factor=int(ip.patch_size) * int(ip.merge_size), min_pixels=int(min_pixels), max_pixels=int(max_pixels)
        )


def _smart_resize():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    return smart_resize


def size_problem(width: int, height: int, limits: ProcessorLimits) -> str | None:
    """Why the processor cannot take a `width` x `height` image, or None when it can."""
    if width <= 0 or height <= 0:
        return f"image has no pixels ({width}x{height})"
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT_RATIO:
        return f"aspect ratio {ratio:.0f}:1 ({width}x{height}) is over the Qwen2-VL processor's limit of {MAX_ASPECT_RATIO}:1"
    try:
        h, w = _smart_resize()(
            height, width, factor=limits.factor, min_pixels=limits.min_pixels, max_pixels=limits.max_pixels
        )
    except ValueError as exc:  # whatever else the installed processor refuses
        return f"the Qwen2-VL processor refuses a {width}x{height} image: {exc}"
    if h < limits.factor or w < limits.factor:
        return f"{width}x{height} resizes to {w}x{h}, smaller than one {limits.factor}x{limits.factor} patch group"
    if h * w > limits.max_pixels:
        return f"{width}x{height} resizes to {w}x{h} = {w * h} pixels, more than max_pixels {limits.max_pixels} (too thin to fit)"
    return None


def image_tokens(width: int, height: int, limits: ProcessorLimits) -> int:
    """Visual tokens the model sees for a `width` x `height` image: one per merged patch group after resizing."""
    h, w = _smart_resize()(
        height, width, factor=limits.factor, min_pixels=limits.min_pixels, max_pixels=limits.max_pixels
    )
    return (h // limits.factor) * (w // limits.factor)


def image_problem(image, limits: ProcessorLimits) -> str | None:
    """`size_problem` of a decoded PIL image."""
    return size_problem(image.size[0], image.size[1], limits)
