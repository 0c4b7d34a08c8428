"""A CPU model configuration and prompts with images, for the model pool and generation tests."""

from __future__ import annotations

from ipa_worker.models.messages import user_messages
from PIL import Image

CPU = {"device": "cpu", "dtype": "auto", "attn_implementation": "sdpa", "min_pixels": 56 * 56, "max_pixels": 112 * 112}


def colour_prompts() -> list[dict]:
    colours = ["red", "blue", "green", "yellow", "purple"]
    out = []
    for i, c in enumerate(colours):
        text = "What colour is the shape?" + " Answer with one word." * (
            i % 3
        )  # different prompt lengths: padding matters
        out.append({"images": [Image.new("RGB", (56, 56), c)], "messages": user_messages(text, 1)})
    return out
