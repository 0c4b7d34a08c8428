"""A role (generator, reviser, verifier, the evaluated policy) as the stages see it: the process's
one engine with that role's adapter, or with none for the base role.

`role.generate(prompts, ...)` answers like `generation.generate` on either backend and adds the
tokens it generated and the seconds it took to the stage's `GenerationStats`, which the stage puts
in its done record (`engine`, `generated_tokens`, `generation_s`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class GenerationStats:
    """What one stage generated: on which engine, how many tokens, in how many seconds."""

    engine: str | None = None
    generated_tokens: int = 0
    generation_s: float = 0.0

    def add(self, engine: str, answers: list[dict[str, Any]], seconds: float) -> None:
        self.engine = engine
        self.generated_tokens += sum(int(a.get("num_tokens", 0)) for a in answers)
        self.generation_s += seconds

    def metrics(self) -> dict[str, Any]:
        """The done record's fields; `engine` is None when the stage generated nothing (a rule verifier, no items)."""
        return {
            "engine": self.engine,
            "generated_tokens": self.generated_tokens,
            "generation_s": round(self.generation_s, 3),
        }


class Role:
    """One role on an engine: `adapter` None is the base model itself."""

    engine_name = ""

    def __init__(self, adapter: str | None, stats: GenerationStats | None = None):
        self.adapter = adapter
        self.stats = stats if stats is not None else GenerationStats()

    def generate(
        self,
        prompts: list[dict[str, Any]],
        *,
        temperature: float,
        top_p: float = 1.0,
        max_new_tokens: int,
        batch_size: int,
        seed: int = 0,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """`{"text", "num_tokens"}` per prompt (`"error"` too for a prompt the engine cannot take), as `generation.generate`."""
        t0 = time.monotonic()
        answers = self._generate(
            prompts,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            seed=seed,
            on_batch=on_batch,
        )
        self.stats.add(self.engine_name, answers, time.monotonic() - t0)
        return answers

    def _generate(self, prompts: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
        """The engine's own generation: `HfRole` (hf_engine.py) and `VllmRole` (vllm_engine.py) give it;
        a bare `Role` is never built, so reaching this is a programming error."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _generate: use an engine's role")
