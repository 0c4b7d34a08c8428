"""Test-only behaviour of the worker, off unless an environment variable switches it on.

IPA_WORKER_TEST_METHODS=1 adds the methods `sleep` (a slow request with progress that honours
cancel), `crash` (exit at once) and `pollute` (writes to stdout, which must not reach the
protocol stream). IPA_WORKER_FAULTS injects stage faults (`stages.faults`, re-exported here).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from ..context import StageContext
from ..stages.faults import FAULT_KINDS, fail_before, parse_faults, with_faults  # noqa: F401 - the server's fault hooks

log = logging.getLogger(__name__)

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
