"""Standard loading: every checkpoint opens with AutoProcessor / AutoModelForImageTextToText where
torchvision is installed, older folders still load through the project's fallback, and the pixels
fed to the model stay those of the PIL image processor."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from ipa_worker.models import processor as processor_module
from ipa_worker.models.processor import PROCESSOR_CONFIG, load_processor, pil_image_processor
from PIL import Image

PIXELS = {"min_pixels": 56 * 56, "max_pixels": 448 * 448}


def _image() -> Image.Image:
    """A noisy image whose size forces a resize (where bicubic in torch and in PIL differ)."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (177, 301, 3), dtype=np.uint8))


def _without_video_entry(src: str, dst: Path) -> str:
    shutil.copytree(src, dst)
    cfg = json.loads((dst / PROCESSOR_CONFIG).read_text())
    cfg.pop("video_processor")
    (dst / PROCESSOR_CONFIG).write_text(json.dumps(cfg))
    return str(dst)


def test_the_tiny_model_opens_with_the_auto_classes(tiny_model_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    cfg = json.loads((Path(tiny_model_dir) / PROCESSOR_CONFIG).read_text())
    assert (
        cfg["processor_class"] == "Qwen2VLProcessor"
        and cfg["video_processor"]["video_processor_type"] == "Qwen2VLVideoProcessor"
    )
    assert type(AutoProcessor.from_pretrained(tiny_model_dir)).__name__ == "Qwen2VLProcessor"
    assert AutoModelForImageTextToText.from_pretrained(tiny_model_dir).config.model_type == "qwen2_vl"


def test_a_save_without_torchvision_still_writes_the_video_processor_entry(tmp_path, tiny_model_dir, monkeypatch):
    from transformers import AutoProcessor, AutoTokenizer

    monkeypatch.setattr(processor_module, "torchvision_available", lambda: False)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    built = processor_module.make_processor(pil_image_processor(tiny_model_dir), tok, chat_template=tok.chat_template)
    assert type(built).__name__ == "Qwen2VLImageOnlyProcessor"
    built.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / PROCESSOR_CONFIG).read_text())
    assert cfg["processor_class"] == "Qwen2VLProcessor" and cfg["video_processor"] == {
        "video_processor_type": "Qwen2VLVideoProcessor"
    }
    monkeypatch.undo()
    assert type(AutoProcessor.from_pretrained(str(tmp_path))).__name__ == "Qwen2VLProcessor"


def test_pixels_are_exactly_the_pil_image_processors(tiny_model_dir):
    from transformers import AutoProcessor

    proc = load_processor(tiny_model_dir, **PIXELS)
    assert type(proc.image_processor).__name__ == "Qwen2VLImageProcessorPil"
    reference = pil_image_processor(tiny_model_dir, **PIXELS)(images=[_image()], return_tensors="pt")
    ours = proc(text=["<|vision_start|><|image_pad|><|vision_end|>x"], images=[_image()], return_tensors="pt")
    assert ours["image_grid_thw"].tolist() == reference["image_grid_thw"].tolist()
    assert torch.equal(ours["pixel_values"], reference["pixel_values"])  # bitwise: same pixels on every worker
    # Plain AutoProcessor would resize with torchvision instead (up to about one grey level apart).
    plain = AutoProcessor.from_pretrained(tiny_model_dir).image_processor
    assert type(plain).__name__ == "Qwen2VLImageProcessor"


def test_a_folder_saved_before_the_entry_loads_through_the_fallback(tmp_path, tiny_model_dir):
    from transformers import AutoProcessor

    old = _without_video_entry(tiny_model_dir, tmp_path / "old")
    with pytest.raises(OSError, match="Can't load video processor"):
        AutoProcessor.from_pretrained(old)
    proc = load_processor(old, **PIXELS)
    a = proc(text=["<|vision_start|><|image_pad|><|vision_end|>x"], images=[_image()], return_tensors="pt")
    b = load_processor(tiny_model_dir, **PIXELS)(
        text=["<|vision_start|><|image_pad|><|vision_end|>x"], images=[_image()], return_tensors="pt"
    )
    assert torch.equal(a["pixel_values"], b["pixel_values"]) and torch.equal(a["input_ids"], b["input_ids"])
    # Re-saving it (what every training does with the processor it loaded) writes the entry.
    proc.save_pretrained(tmp_path / "resaved")
    assert "video_processor" in json.loads((tmp_path / "resaved" / PROCESSOR_CONFIG).read_text())


def test_a_large_image_stays_within_max_pixels_through_the_current_interface(tiny_model_dir):
    """The bounds reach the processor as `size={"shortest_edge", "longest_edge"}`: a 12 MP image
    becomes at most max_pixels, with no deprecation warning on the way (the old `min_pixels` /
    `max_pixels` keywords warn, and once dropped would leave the processor's 12.8 MP default)."""
    import warnings

    from ipa_worker.models.messages import user_messages

    big = Image.new("RGB", (4000, 3000), (200, 30, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        processor = load_processor(tiny_model_dir, 56 * 56, 112 * 112)
        text = processor.apply_chat_template(
            user_messages("What colour?", 1), tokenize=False, add_generation_prompt=True
        )
        out = processor(text=[text], images=[big], return_tensors="pt")
    _, h, w = out["image_grid_thw"][0].tolist()
    assert h * w * 14 * 14 <= 112 * 112 and (h, w) == (6, 8)  # 84 x 112 px after smart_resize: 48 patches
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((out["input_ids"][0] == image_pad).sum()) == h * w // 4  # 2 x 2 patches merge into one token
