"""Loading the Qwen2-VL processor, also where torchvision is not installed.

transformers 5 builds `Qwen2VLProcessor` with a video processor that needs torchvision, even for
image-only use. Without torchvision we fall back to the same processor class minus its video
part, with the PIL image processor (identical resizing and patching). Checkpoints are always
saved as a plain `Qwen2VLProcessor`, so `AutoProcessor` loads them wherever torchvision exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import Qwen2VLProcessor


class Qwen2VLImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without the video processor (the mixin derives attributes from __init__)."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        out = super().save_pretrained(save_directory, *args, **kwargs)
        path = Path(save_directory) / "processor_config.json"
        cfg = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        cfg["processor_class"] = "Qwen2VLProcessor"
        path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return out


def torchvision_available() -> bool:
    from transformers.utils import is_torchvision_available

    return bool(is_torchvision_available())


def _size(min_pixels: int | None, max_pixels: int | None) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if min_pixels is not None:
        kw["min_pixels"] = int(min_pixels)
    if max_pixels is not None:
        kw["max_pixels"] = int(max_pixels)
    return kw


def make_processor(image_processor, tokenizer, chat_template: str | None = None):
    """A processor from parts: the regular class when torchvision exists, else the image-only one."""
    if torchvision_available():
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        return Qwen2VLProcessor(image_processor, tokenizer, Qwen2VLVideoProcessor(), chat_template=chat_template)
    return Qwen2VLImageOnlyProcessor(image_processor, tokenizer, chat_template=chat_template)


def load_processor(path: str, min_pixels: int | None = None, max_pixels: int | None = None):
    """The processor of checkpoint `path`, its image area bounded by min/max_pixels when given."""
    kw = _size(min_pixels, max_pixels)
    if torchvision_available():
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(path, **kw)
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = AutoTokenizer.from_pretrained(path)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(path, **kw)
    return Qwen2VLImageOnlyProcessor(image_processor, tokenizer, chat_template=tokenizer.chat_template)
