"""The generation engine of a worker process: at most one, built for the run and kept between jobs.

Every generating stage asks for a role (`Engines.role`): the engine the recipe's
`generation.backend` names, on the role's base, with the role's adapter. A request the current
engine can serve reuses it, adapters and all; one that needs another base, backend or engine
setting closes it first, so a process never holds two engines nor two copies of a base.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..contract.recipe_types import Recipe
from .adapters import adapter_rank
from .device import resolve_device_dtype
from .memory import release_memory
from .processor import load_processor
from .roles import GenerationStats, Role
from .run_limits import run_limits


class Engines:
    """Holds the process's one engine (`current`), `HfEngine` or `VllmEngine`."""

    def __init__(self) -> None:
        self.current: Any = None
        self._key: str | None = None
        self._processors: dict[tuple, Any] = {}

    # -- what a stage asks for ------------------------------------------------------------------

    def plan(self, payload: dict[str, Any], role: str) -> tuple[str, Callable[[], Any]]:
        """(key, build) of the engine `role` of `payload` runs on: the key says whether the current one serves it."""
        recipe = payload["recipe"]
        model_cfg = recipe["model"]
        base = str(payload["models"][role]["base"])
        if recipe["generation"]["backend"] == "hf":
            return self._hf_plan(base, model_cfg)
        from . import vllm_engine

        vllm_engine.require()
        pixels = (int(model_cfg["min_pixels"]), int(model_cfg["max_pixels"]))
        settings = vllm_engine.engine_settings(
            model_cfg, recipe["generation"]["vllm"], base, **self.vllm_limits(payload, base, pixels), batch_scale=float(payload["options"]["batch_scale"])
        )  # fmt: skip
        processor = self._processor(base, pixels)
        return json.dumps(["vllm", settings], sort_keys=True), lambda: vllm_engine.VllmEngine(settings, processor)

    @staticmethod
    def _hf_plan(base: str, model_cfg: dict[str, Any]) -> tuple[str, Callable[[], Any]]:
        device, dtype = resolve_device_dtype(model_cfg)
        attn, pixels = model_cfg["attn_implementation"], (int(model_cfg["min_pixels"]), int(model_cfg["max_pixels"]))

        def build():
            from .hf_engine import HfEngine

            return HfEngine(base, device=device, dtype=dtype, attn=attn, min_pixels=pixels[0], max_pixels=pixels[1])

        return json.dumps(["hf", base, device, dtype, attn, *pixels]), build

    def _processor(self, base: str, pixels: tuple[int, int]) -> Any:
        if (base, pixels) not in self._processors:
            self._processors[(base, pixels)] = load_processor(base, *pixels)
        return self._processors[(base, pixels)]

    def vllm_limits(self, payload: dict[str, Any], base: str, pixels: tuple[int, int]) -> dict[str, int]:
        """The vLLM engine's limits for `payload`'s run: images per prompt and sequence bound from
        the run (`run_limits`; `generation.vllm.max_model_len` when set), the LoRA rank slot for
        the recipe's rank and the payload's adapters."""
        recipe = payload["recipe"]
        limits = run_limits(
            recipe,
            payload["run_dir"],
            base,
            self._processor(base, pixels),
            seed_files=_files(payload["inputs"].get("seeds")),
        )
        adapters = [m["adapter"] for m in payload["models"].values() if m and m.get("adapter")]
        lora_rank = max([Recipe.from_dict(recipe).training.lora.r] + [adapter_rank(a) for a in adapters])
        max_len = recipe["generation"]["vllm"].get("max_model_len") or limits.max_model_len
        return {"max_images": limits.max_images, "max_model_len": int(max_len), "lora_rank": lora_rank}

    def serves(self, payload: dict[str, Any], role: str) -> bool:
        """Whether `role` would run on the engine already built (no load)."""
        return self.current is not None and self.plan(payload, role)[0] == self._key

    def role(self, payload: dict[str, Any], role: str, stats: GenerationStats | None = None) -> Role:
        """The model of `role` (generator, reviser, verifier) for this stage, on the process's one engine."""
        return self._engine(*self.plan(payload, role)).role(payload["models"][role]["adapter"], stats)

    def hf_role(self, spec: dict[str, Any], model_cfg: dict[str, Any], stats: GenerationStats | None = None) -> Role:
        """The hf engine's role for `spec` ({base, adapter}) without a stage payload (tools, tests)."""
        return self._engine(*self._hf_plan(str(spec["base"]), model_cfg)).role(spec["adapter"], stats)

    def _engine(self, key: str, build: Callable[[], Any]) -> Any:
        if key != self._key:
            self.clear()
            self.current, self._key = build(), key
        return self.current

    # -- giving memory back ---------------------------------------------------------------------

    def release_for_retry(self, payload: dict[str, Any] | None) -> list[str]:
        """After an out-of-memory failure of `payload`'s job: drops what its retry does not need and
        returns the allocator's cache. The hf engine keeps its base and the adapters of the job's
        roles (the retry reloads nothing); a vLLM engine is closed, as its engine process may not
        survive the failure and the retry builds it with fewer sequences at once. Returns what
        was released, in words."""
        released: list[str] = []
        models = [m for m in ((payload or {}).get("models") or {}).values() if m]
        if self.current is not None:
            if self.current.name == "hf" and self.current.base in {str(m["base"]) for m in models}:
                released += [
                    f"adapter {a}"
                    for a in self.current.drop_adapters({m["adapter"] for m in models if m.get("adapter")})
                ]
            else:
                released.append(f"the {self.current.name} engine on {self.current.base}")
                self.clear()
        release_memory()
        return released

    def clear(self) -> None:
        """Closes the engine (its weights, adapters and caches go)."""
        engine, self.current, self._key = self.current, None, None
        if engine is not None:
            engine.close()
            del engine
            release_memory()


def _files(value: str | list[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])
