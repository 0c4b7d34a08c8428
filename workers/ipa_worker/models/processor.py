"""Loading and saving the Qwen2-VL processor so that every folder a run writes opens the standard way.

- Saving: every checkpoint carries a `video_processor` entry in `processor_config.json`. Where
  torchvision is installed (the worker's lock has it), `AutoProcessor.from_pretrained` insists on a
  video processor even for image-only use; a folder without one fails with "Can't load video
  processor". TRL, lmms-eval and users all call `AutoProcessor`, so the entry must be there.
- Loading: images always go through the PIL image processor (`Qwen2VLImageProcessorPil`), with or
  without torchvision. The torchvision backend resizes bicubically in torch and differs from PIL
  by up to about one grey level on resized images; pinning PIL keeps pixels identical across
  workers, environments and resumed runs.
- Folders written before the entry existed still load here: the processor is built from its parts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import Qwen2VLProcessor

PROCESSOR_CONFIG = "processor_config.json"
# transformers fills in the video processor's defaults from its type alone.
VIDEO_PROCESSOR_ENTRY = {"video_processor_type": "Qwen2VLVideoProcessor"}


def add_video_processor_entry(folder: str | Path) -> bool:
    """Adds the `video_processor` entry to `folder`'s processor_config.json when it lacks one.

    Returns True when the file was changed. The processor class is named as the standard one, so
    `AutoProcessor` picks `Qwen2VLProcessor` rather than our image-only subclass. A folder in the
    older layout (a separate preprocessor_config.json, as on the Hub) has no processor_config.json
    and needs nothing: transformers reads the video processor from preprocessor_config.json there.
    """
    path = Path(folder) / PROCESSOR_CONFIG
    if not path.is_file():
        return False
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if cfg.get("video_processor") and cfg.get("processor_class") == "Qwen2VLProcessor":
        return False
    cfg["processor_class"] = "Qwen2VLProcessor"
    cfg.setdefault("video_processor", dict(VIDEO_PROCESSOR_ENTRY))
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return True


class Qwen2VLImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without the video processor (the mixin derives attributes from __init__).

    Used only where torchvision is missing; it still saves a folder `AutoProcessor` opens elsewhere.
    """

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        out = super().save_pretrained(save_directory, *args, **kwargs)
        add_video_processor_entry(save_directory)
        return out


def torchvision_available() -> bool:
    from transformers.utils import is_torchvision_available

    return bool(is_torchvision_available())


def size_bounds(min_pixels: int | None, max_pixels: int | None) -> dict[str, Any]:
    """The image-area bounds as the pinned transformers takes them: `size={"shortest_edge",
    "longest_edge"}` (areas in pixels, despite the names). The `min_pixels`/`max_pixels` keywords
    are its deprecated spelling; where they are dropped, images would silently fall back to the
    processor's default bound (12.8 MP). Both bounds or neither: a half-given size fails to resize."""
    if min_pixels is None and max_pixels is None:
        return {}
    if min_pixels is None or max_pixels is None:
        raise ValueError("give both min_pixels and max_pixels, or neither")
    return {"size": {"shortest_edge": int(min_pixels), "longest_edge": int(max_pixels)}}


def make_processor(image_processor, tokenizer, chat_template: str | None = None):
    """A processor from parts: the regular class when torchvision exists, else the image-only one."""
    if torchvision_available():
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        return Qwen2VLProcessor(image_processor, tokenizer, Qwen2VLVideoProcessor(), chat_template=chat_template)
    return Qwen2VLImageOnlyProcessor(image_processor, tokenizer, chat_template=chat_template)


def pil_image_processor(path: str, min_pixels: int | None = None, max_pixels: int | None = None):
    """The checkpoint's image processor on the PIL backend (the pixels every worker feeds)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil.from_pretrained(path, **size_bounds(min_pixels, max_pixels))


def _lacks_video_processor(exc: OSError) -> bool:
    return "video processor" in str(exc).lower()


def load_processor(path: str, min_pixels: int | None = None, max_pixels: int | None = None):
    """The processor of checkpoint `path`, its image area bounded by min/max_pixels when given."""
    image_processor = pil_image_processor(path, min_pixels, max_pixels)
    if torchvision_available():
        from transformers import AutoProcessor

        try:
            processor = AutoProcessor.from_pretrained(path)
        except OSError as exc:
            if not _lacks_video_processor(exc):
                raise
            # A folder saved before checkpoints carried a video-processor entry: build from parts.
        else:
            # Swapped in after loading: passed to from_pretrained, it would also land in the
            # tokenizer's saved config and break every later save.
            processor.image_processor = image_processor
            return processor
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    return make_processor(image_processor, tokenizer, chat_template=tokenizer.chat_template)
