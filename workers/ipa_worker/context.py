"""What a stage handler gets besides its payload: progress, logs, cancellation, the process's
generation engine (`models`, an `Engines`) and what the stage generated on it (`generation`).

Stage modules (`ipa_worker/stages/<stage>.py`) expose `run(payload: dict, ctx: StageContext) -> dict`
returning `{"outputs": {name: {path, rows, sha256}}, "metrics": {...}, "failed_items": [...]}`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import Cancelled
from .models.roles import GenerationStats, Role

Emit = Callable[[dict[str, Any]], None]


class StageContext:
    """Per-request context; `emit` sends one protocol message (the server adds `v` and `id`)."""

    def __init__(self, emit: Emit | None = None, models: Any = None, min_progress_interval: float = 0.5):
        self._emit = emit or (lambda msg: None)
        self.models = models
        self.generation = GenerationStats()
        self._cancel = threading.Event()
        self._last_progress = 0.0
        self._min_interval = min_progress_interval

    def progress(self, done: int, total: int, force: bool = False, **metrics: Any) -> None:
        """Report progress, throttled to one message per `min_progress_interval` (2 a second)."""
        now = time.monotonic()
        if not force and done < total and now - self._last_progress < self._min_interval:
            return
        self._last_progress = now
        self._emit({"type": "progress", "done": done, "total": total, "metrics": metrics})

    def log(self, msg: str, level: str = "info", **fields: Any) -> None:
        self._emit({"type": "log", "level": level, "msg": msg, "fields": fields})

    def phase(self, title: str, label: str | None = None, level: str = "info") -> None:
        """Start a phase: a boundary line in the job log (`— title —`) and a progress message
        naming it (`label`, default `title`), so a long step with no count yet is not silent."""
        self.log(title, level=level, phase=True)
        self.progress(0, 0, force=True, phase=label or title)

    def role(self, payload: dict[str, Any], name: str) -> Role:
        """Role `name` (generator, reviser, verifier) of the stage on the process's one engine,
        saying "loading model" while that engine is not built yet; what the role generates counts
        in `generation`."""
        if self.models.serves(payload, name):
            return self.models.role(payload, name, self.generation)
        self.progress(0, 0, force=True, phase="loading model")
        t0 = time.monotonic()
        role = self.models.role(payload, name, self.generation)
        engine = self.models.current
        self.log(f"built the {engine.name} engine on {engine.base} in {time.monotonic() - t0:.1f} s")
        return role

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Call between items: raises Cancelled once the orchestrator asked to stop."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the orchestrator")
