"""The model configurations the GPU check builds: Qwen2-VL-7B-Instruct as published, and a tiny
one of the same class for the CPU.

The special tokens keep Qwen2's ids (the 7B vocabulary is the real one, so the LM head costs
what it costs in production); the tiny configuration moves them to the top of its small vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Special-token ids of the Qwen2 tokenizer, shared by Qwen2-VL and Qwen2.5-VL.
QWEN_IDS = {
    "bos": 151643,  # <|endoftext|>
    "im_start": 151644,
    "eos": 151645,  # <|im_end|>
    "vision_start": 151652,
    "vision_end": 151653,
    "image_pad": 151655,
    "video_pad": 151656,
}

# Qwen2-VL-7B-Instruct's config.json, as published (text model = Qwen2-7B; vision = 675M ViT).
QWEN2VL_7B_TEXT = dict(
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    hidden_act="silu",
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    use_sliding_window=False,
    sliding_window=32768,
    max_window_layers=28,
    attention_dropout=0.0,
    # head_dim 128 -> 64 rotary frequencies split over (time, height, width).
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
)
QWEN2VL_7B_VISION = dict(
    depth=32,
    embed_dim=1280,
    hidden_size=3584,  # the merger projects into the language model's width
    hidden_act="quick_gelu",
    mlp_ratio=4,
    num_heads=16,
    in_channels=3,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
)

TINY_VOCAB = 1024
TINY_IDS = {k: TINY_VOCAB - 16 + i for i, k in enumerate(QWEN_IDS)}
TINY_TEXT = dict(
    vocab_size=TINY_VOCAB,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    # head_dim 32: vLLM's CPU attention has no kernel for 16 (the check's `--backend vllm`).
    num_attention_heads=2,
    num_key_value_heads=1,
    hidden_act="silu",
    max_position_embeddings=4096,
    rms_norm_eps=1e-6,
    use_sliding_window=False,
    # head_dim 32 -> 16 rotary frequencies.
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [4, 6, 6]},
)
TINY_VISION = dict(
    depth=2, embed_dim=32, hidden_size=64, hidden_act="quick_gelu", mlp_ratio=2, num_heads=2,
    in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
)  # fmt: skip


@dataclass(frozen=True)
class Architecture:
    name: str
    text: dict[str, Any]
    vision: dict[str, Any]
    ids: dict[str, int]

    @property
    def vocab_size(self) -> int:
        return int(self.text["vocab_size"])


ARCHITECTURES = {
    "7b": Architecture("7b", QWEN2VL_7B_TEXT, QWEN2VL_7B_VISION, QWEN_IDS),
    "tiny": Architecture("tiny", TINY_TEXT, TINY_VISION, TINY_IDS),
}


def build_config(arch: Architecture):
    """The Qwen2VLConfig of `arch`, its special ids in place, input and output embeddings untied."""
    from transformers import Qwen2VLConfig

    ids = arch.ids
    text = {**arch.text, "bos_token_id": ids["bos"], "eos_token_id": ids["eos"], "pad_token_id": ids["bos"]}
    return Qwen2VLConfig(
        text_config=text,
        vision_config=dict(arch.vision),
        image_token_id=ids["image_pad"],
        video_token_id=ids["video_pad"],
        vision_start_token_id=ids["vision_start"],
        vision_end_token_id=ids["vision_end"],
        tie_word_embeddings=False,
    )
