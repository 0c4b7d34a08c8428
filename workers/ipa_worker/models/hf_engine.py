"""The `hf` backend: one base model per process, every role a named PEFT adapter on it.

The generator's and the reviser's adapters are loaded into the same `PeftModel` under names
derived from their contents (`adapters.adapter_identity`), switched per call; the base role runs
with the adapters disabled. So the verifier (base) and the round-2 reviser (base + adapter) share
one copy of the base weights, where a pool keyed by (base, adapter) held two.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import BadInput
from .adapters import adapter_identity
from .device import attn_implementation
from .generation import generate
from .processor import load_processor
from .roles import GenerationStats, Role

# Adapters kept loaded beside the base: this round's generator and reviser, and the previous
# round's while a run moves on (each is a few MB to a few hundred MB; the base is GBs).
MAX_ADAPTERS = 4


class HfEngine:
    """A base checkpoint on `device` in `dtype`, with adapters loaded on demand."""

    name = "hf"

    def __init__(self, base: str, *, device: str, dtype: str, attn: str, min_pixels: int, max_pixels: int):
        import torch
        from transformers import AutoModelForImageTextToText

        if not (Path(base) / "config.json").is_file():
            raise BadInput(f"model checkpoint not found: {base} has no config.json")
        self.base, self.device = base, device
        model = AutoModelForImageTextToText.from_pretrained(
            base, dtype=getattr(torch, dtype), attn_implementation=attn_implementation(attn, device)
        )
        self.model = model.to(device).eval()
        self.processor = load_processor(base, min_pixels, max_pixels)
        self._adapters: OrderedDict[str, str] = OrderedDict()  # name -> folder, least recently used first

    def role(self, adapter: str | None, stats: GenerationStats | None = None) -> HfRole:
        if adapter:
            self._load(adapter)
        return HfRole(self, adapter, stats)

    def adapter_names(self) -> list[str]:
        return list(self._adapters)

    def _load(self, folder: str) -> str:
        name, _ = adapter_identity(folder)
        if name in self._adapters:
            self._adapters.move_to_end(name)
            return name
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(folder, adapter_name=name, torch_device=self.device)
        else:
            # Wraps the same modules in place: LoRA layers are added, no weight is copied.
            self.model = PeftModel.from_pretrained(
                self.model, folder, adapter_name=name, torch_device=self.device
            ).eval()
        self._adapters[name] = folder
        while len(self._adapters) > MAX_ADAPTERS:
            self._delete(next(iter(self._adapters)))
        return name

    def _delete(self, name: str) -> None:
        self.model.delete_adapter(name)
        del self._adapters[name]

    def drop_adapters(self, keep: set[str]) -> list[str]:
        """Deletes every loaded adapter whose folder is not in `keep`; returns their folders."""
        keep_names = {adapter_identity(f)[0] for f in keep if f}
        dropped = [(n, f) for n, f in self._adapters.items() if n not in keep_names]
        for name, _ in dropped:
            self._delete(name)
        return [f for _, f in dropped]

    @contextlib.contextmanager
    def using(self, adapter: str | None) -> Iterator[None]:
        """The model with `adapter` active for the duration, or with every adapter disabled (base role)."""
        if adapter:
            self.model.set_adapter(self._load(adapter), inference_mode=True)
            yield
        elif self._adapters:
            with self.model.disable_adapter():
                yield
        else:
            yield

    def close(self) -> None:
        self.model = None
        self._adapters.clear()


class HfRole(Role):
    """A role on the hf engine; also the `lm` `generation.generate` takes (model, processor, device)."""

    engine_name = "hf"

    def __init__(self, engine: HfEngine, adapter: str | None, stats: GenerationStats | None = None):
        super().__init__(adapter, stats)
        self.engine = engine

    @property
    def model(self) -> Any:
        return self.engine.model

    @property
    def processor(self) -> Any:
        return self.engine.processor

    @property
    def device(self) -> str:
        return self.engine.device

    def using(self) -> Any:
        """This role's adapter active (or every adapter off) while `generate` runs."""
        return self.engine.using(self.adapter)

    def _generate(self, prompts: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
        return generate(self, prompts, **kw)
