"""A small LRU pool of loaded models, so the long-lived worker does not reload weights per job.

Keyed by (base, adapter, device, dtype): the generator, reviser and verifier of a round are often
the same weights, and consecutive jobs of a queue use the same ones.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadInput
from .processor import load_processor

DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


@dataclass
class LoadedModel:
    model: Any
    processor: Any
    device: str
    key: tuple


def resolve_device_dtype(model_cfg: dict[str, Any]) -> tuple[str, str]:
    """("cuda"|"cpu", dtype name): auto = CUDA + bfloat16 when a GPU is there, else CPU + float32."""
    import torch

    device = model_cfg["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInput("model.device is cuda but no CUDA device is available")
    dtype = model_cfg["dtype"]
    if dtype == "auto":
        dtype = "bfloat16" if device == "cuda" else "float32"
    if dtype not in DTYPES:
        raise BadInput(f"unknown model.dtype {dtype!r}")
    return device, dtype


def _attn_implementation(name: str, device: str) -> str:
    if name == "flash_attention_2":
        try:
            import flash_attn  # noqa: F401
        except ImportError:
            return "sdpa"  # not installed: the next best kernel rather than a failed job
        if device != "cuda":
            return "sdpa"
    return name


class ModelPool:
    """At most `max_loaded` models in memory; the least recently used is dropped first."""

    def __init__(self, max_loaded: int = 3):
        self.max_loaded = max(1, int(max_loaded))
        self._models: OrderedDict[tuple, LoadedModel] = OrderedDict()

    def __len__(self) -> int:
        return len(self._models)

    def keys(self) -> list[tuple]:
        return list(self._models)

    @staticmethod
    def _key(spec: dict[str, Any], model_cfg: dict[str, Any]) -> tuple:
        device, dtype = resolve_device_dtype(model_cfg)
        adapter = spec["adapter"]
        return (str(spec["base"]), str(adapter) if adapter else None, device, dtype)

    def has(self, spec: dict[str, Any], model_cfg: dict[str, Any]) -> bool:
        """Whether `get` would return a model already in memory."""
        return self._key(spec, model_cfg) in self._models

    def get(self, spec: dict[str, Any], model_cfg: dict[str, Any]) -> LoadedModel:
        key = self._key(spec, model_cfg)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        while len(self._models) >= self.max_loaded:
            self._evict()
        lm = self._load(key, model_cfg)
        self._models[key] = lm
        return lm

    def _load(self, key: tuple, model_cfg: dict[str, Any]) -> LoadedModel:
        import torch
        from transformers import AutoModelForImageTextToText

        base, adapter, device, dtype = key
        if not (Path(base) / "config.json").is_file():
            raise BadInput(f"model checkpoint not found: {base} has no config.json")
        model = AutoModelForImageTextToText.from_pretrained(
            base,
            dtype=getattr(torch, dtype),
            attn_implementation=_attn_implementation(model_cfg["attn_implementation"], device),
        )
        if adapter:
            if not (Path(adapter) / "adapter_config.json").is_file():
                raise BadInput(f"adapter not found: {adapter} has no adapter_config.json")
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter)
        model.to(device)
        model.eval()
        processor = load_processor(base, model_cfg["min_pixels"], model_cfg["max_pixels"])
        return LoadedModel(model=model, processor=processor, device=device, key=key)

    def _evict(self) -> None:
        _, lm = self._models.popitem(last=False)
        self._free(lm)

    @staticmethod
    def _free(lm: LoadedModel) -> None:
        on_cuda = lm.device == "cuda"
        lm.model = None
        del lm
        gc.collect()
        if on_cuda:
            import torch

            torch.cuda.empty_cache()

    def clear(self) -> None:
        while self._models:
            self._evict()
