"""A random-weight checkpoint on disk that the worker's own loaders open like a downloaded one.

The stages load models with `from_pretrained` (the hf engine, load_trainable, load_processor), so the
check saves its model first. Its tokenizer is word-level over the model's whole vocabulary: id N
is the word `<tN>` and the specials keep their ids. Sampled ids then decode to words that encode
back to the same ids, so a 128-token response is a 128-token DPO completion, whatever the random
weights draw (a subword tokenizer smaller than the 152,064-row LM head would decode most of them
to nothing). Prompt words outside the vocabulary become the unknown word `<t0>`: one token each.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ...data.dirbuild import build_dir_atomically, read_marker
from ...models.processor import make_processor
from ...models.tiny_model import CHAT_TEMPLATE
from .architecture import Architecture, build_config

FORMAT_VERSION = 2  # 2: the tiny configuration's head_dim 32

SPECIAL_NAMES = {
    "bos": "<|endoftext|>",
    "im_start": "<|im_start|>",
    "eos": "<|im_end|>",
    "vision_start": "<|vision_start|>",
    "vision_end": "<|vision_end|>",
    "image_pad": "<|image_pad|>",
    "video_pad": "<|video_pad|>",
}
UNKNOWN = "<t0>"


def word_tokenizer(arch: Architecture):
    """A fast tokenizer with one word per model id (`<tN>`), the chat template of the tiny model."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    special = {SPECIAL_NAMES[k]: v for k, v in arch.ids.items()}
    taken = set(special.values())
    vocab = {f"<t{i}>": i for i in range(arch.vocab_size) if i not in taken}
    vocab.update(special)
    tok = Tokenizer(WordLevel(vocab, unk_token=UNKNOWN))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=SPECIAL_NAMES["bos"],
        eos_token=SPECIAL_NAMES["eos"],
        pad_token=SPECIAL_NAMES["bos"],
        unk_token=UNKNOWN,
        additional_special_tokens=[n for n in special if n not in (SPECIAL_NAMES["bos"], SPECIAL_NAMES["eos"])],
        model_max_length=32768,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _marker(arch: Architecture, pixels: int, dtype: str, seed: int) -> dict[str, Any]:
    return {
        "kind": "gpu_check_model",
        "version": FORMAT_VERSION,
        "config": arch.name,
        "pixels": pixels,
        "dtype": dtype,
        "seed": seed,
    }


def build_checkpoint(
    out_dir: str | Path, arch: Architecture, *, pixels: int, device: str, dtype: str, seed: int = 0
) -> dict[str, Any]:
    """Writes (once) `arch` with random weights, its processor (images of exactly `pixels` px) and a
    generation config to `out_dir`; returns what it did: `{path, reused, build_s, save_s, params}`."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    marker = _marker(arch, pixels, dtype, seed)
    timings: dict[str, Any] = {"reused": True}

    def build(tmp: Path) -> None:
        import torch
        from transformers import GenerationConfig, Qwen2VLForConditionalGeneration

        t0 = time.perf_counter()
        torch.manual_seed(seed)
        # Initialised where it will run: 16 GB of 7B weights need not pass through host memory.
        with torch.device(device):
            model = Qwen2VLForConditionalGeneration._from_config(build_config(arch), dtype=getattr(torch, dtype))
        ids = arch.ids
        model.generation_config = GenerationConfig(
            eos_token_id=[ids["eos"], ids["bos"]], pad_token_id=ids["bos"], bos_token_id=ids["bos"]
        )
        timings.update(
            reused=False, build_s=time.perf_counter() - t0, params=sum(p.numel() for p in model.parameters())
        )
        t1 = time.perf_counter()
        model.save_pretrained(tmp, max_shard_size="5GB")
        processor = make_processor(
            Qwen2VLImageProcessorPil(min_pixels=pixels, max_pixels=pixels),
            word_tokenizer(arch),
            chat_template=CHAT_TEMPLATE,
        )
        processor.save_pretrained(tmp)
        timings["save_s"] = time.perf_counter() - t1
        del model
        if device == "cuda":
            torch.cuda.empty_cache()

    path = build_dir_atomically(out_dir, build, lambda p: read_marker(p) == marker, marker)
    size = sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())
    return {"path": str(path), "disk_bytes": size, **timings}
