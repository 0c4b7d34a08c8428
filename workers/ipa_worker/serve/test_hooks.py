"""Test-only behaviour of the worker, off unless an environment variable switches it on.

IPA_WORKER_TEST_METHODS=1 adds the methods `sleep` (a slow request with progress that honours
cancel), `crash` (exit at once) and `pollute` (writes to stdout, which must not reach the
protocol stream). IPA_WORKER_FAULTS injects stage faults (see `parse_faults`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from ..errors import OutOfMemory
from ..stages import STAGE_NAME
from ..context import StageContext

log = logging.getLogger(__name__)

FAULT_KINDS = ("oom",)


def parse_faults(spec: str) -> dict[str, set[str]]:
    """`IPA_WORKER_FAULTS`: stage name -> injected faults.

    The spec is a comma-separated list of `<kind>:<stage>`; `oom:sample` makes every `stage`
    request for `sample` at options.batch_scale 1.0 fail with OutOfMemory, so the orchestrator's
    halve-the-batch retry can be tested without a GPU. A generating stage fails at its first
    `generate` call, with its engine built (as a real out-of-memory mid-batch does); another
    stage before it starts. A malformed spec is an error rather than no fault: a typo must not
    let a fault test pass without its fault.
    """
    faults: dict[str, set[str]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, stage = item.partition(":")
        if kind not in FAULT_KINDS or not STAGE_NAME.fullmatch(stage):
            raise ValueError(f"IPA_WORKER_FAULTS: bad entry {item!r}; expected <kind>:<stage> with kind in {FAULT_KINDS}")
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


# The test methods: drive progress, cancellation and crashes.


def sleep(params: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    seconds = float(params.get("seconds", 1.0))
    steps = max(1, int(params.get("steps", 10)))
    for step in range(steps):
        end = time.monotonic() + seconds / steps
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.02))
            ctx.check_cancelled()
        ctx.progress(step + 1, steps, step=step + 1)
    return {"seconds": seconds, "steps": steps}


def crash(params: dict[str, Any]) -> None:
    code = int(params.get("code", 1))
    sys.stderr.write(f"crash requested: exiting with code {code}\n")
    sys.stderr.flush()
    os._exit(code)


def pollute(params: dict[str, Any]) -> dict[str, Any]:
    text = str(params.get("text", "stray output"))
    print(text)
    sys.stdout.flush()
    os.write(1, f"{text} (written to fd 1)\n".encode())
    log.info("polluted stdout", extra={"text": text})
    return {}


# Answered on the reader thread (like ping) / queued for the main thread (like stage).
INLINE_METHODS = {"crash": crash, "pollute": pollute}
SLOW_METHODS = {"sleep": sleep}
