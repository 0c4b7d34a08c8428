"""Test-only faults in stage runs, off unless IPA_WORKER_FAULTS names them (see `parse_faults`).

Here, below both the protocol server (`serve.test_hooks`, which injects the stage-level ones)
and the training ranks (`launch.rank`, which injects the rank-level ones), so both read one spec.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import OutOfMemory
from . import STAGE_NAME

FAULT_KINDS = ("oom", "rank-oom")


def parse_faults(spec: str) -> dict[str, set[str]]:
    """`IPA_WORKER_FAULTS`: stage name -> injected faults.

    The spec is a comma-separated list of `<kind>:<stage>`; `oom:sample` makes every `stage`
    request for `sample` at options.batch_scale 1.0 fail with OutOfMemory, so the orchestrator's
    halve-the-batch retry can be tested without a GPU. `rank-oom:train` does the same inside a
    launched training group: its last rank raises torch's OutOfMemoryError once the group is up,
    so the error reaches the worker the way a real one does (the rank's error file). A malformed
    spec is an error rather than no fault: a typo must not let a fault test pass without its fault.
    A generating stage fails at its first `generate` call, with its engine built (as a real
    out-of-memory mid-batch does); another stage before it starts.
    """
    faults: dict[str, set[str]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, stage = item.partition(":")
        if kind not in FAULT_KINDS or not STAGE_NAME.fullmatch(stage):
            raise ValueError(
                f"IPA_WORKER_FAULTS: bad entry {item!r}; expected <kind>:<stage> with kind in {FAULT_KINDS}"
            )
        faults.setdefault(stage, set()).add(kind)
    return faults


# Stages that generate through the engine: their injected out-of-memory comes from `generate`.
GENERATING_STAGES = frozenset({"sample", "verify", "revise", "verify_revisions", "eval"})


def _oom_due(faults: dict[str, set[str]], name: str, payload: dict[str, Any]) -> bool:
    # A payload without options.batch_scale (tests send bare payloads) counts as a first try.
    return "oom" in faults.get(name, ()) and float((payload.get("options") or {}).get("batch_scale", 1.0)) == 1.0


def _oom(name: str) -> OutOfMemory:
    return OutOfMemory(f"CUDA out of memory (injected by IPA_WORKER_FAULTS for stage {name!r} at batch_scale 1.0)")


def fail_before(faults: dict[str, set[str]], name: str, payload: dict[str, Any]) -> None:
    """Raise the fault configured for a stage that does not generate, before it starts (the
    payload is not known to be valid yet)."""
    if name not in GENERATING_STAGES and _oom_due(faults, name, payload):
        raise _oom(name)


class _OomOnGenerate:
    """The process's `Engines`, whose roles build the real engine and then fail to generate."""

    def __init__(self, engines: Any, name: str):
        self._engines, self._name = engines, name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._engines, attr)

    def role(self, payload: dict[str, Any], role: str, stats: Any = None) -> Any:
        r = self._engines.role(payload, role, stats)

        def generate(*args: Any, **kwargs: Any) -> Any:
            raise _oom(self._name)

        r.generate = generate
        return r


def with_faults(engines: Any, faults: dict[str, set[str]], name: str, payload: dict[str, Any]) -> Any:
    """`engines` as the stage sees it: the real one, or one whose `generate` fails when a fault is due."""
    return _OomOnGenerate(engines, name) if name in GENERATING_STAGES and _oom_due(faults, name, payload) else engines


def inject_rank_faults(faults: dict[str, set[str]], payload: dict[str, Any], rank: int) -> None:
    """In a training rank: raise the `rank-oom` fault on the group's last rank, at batch_scale 1.0."""
    stage = str(payload.get("stage"))
    last = int(os.environ.get("WORLD_SIZE", "1")) - 1
    if "rank-oom" in faults.get(stage, ()) and rank == last and float(payload["options"]["batch_scale"]) == 1.0:
        import torch

        raise torch.OutOfMemoryError(
            f"CUDA out of memory (injected by IPA_WORKER_FAULTS into rank {rank} of stage {stage!r} at batch_scale 1.0)"
        )
