"""A failed rank's error, from the rank to the worker through torch's error file.

torch's launcher gives every rank an error file (TORCHELASTIC_ERROR_FILE) and, when the group
fails, hands the launching process each failed rank's exit code and file (`ChildFailedError`).
A rank writes the file in torch's own format (so torch's readers keep working) with the worker's
error kind added (`errors.classify`); `group_error` turns the failures into the error the agent
acts on: OutOfMemory (retry at half the batch), BadInput (fail for good), Cancelled, or
RankFailed (retry from the last complete checkpoint).
"""

from __future__ import annotations

import json
import os
import signal
import time
import traceback
from collections.abc import Mapping
from typing import Any

from ..errors import BadInput, Cancelled, OutOfMemory, WorkerError, classify

ERROR_FILE_ENV = "TORCHELASTIC_ERROR_FILE"


class RankFailed(WorkerError):
    """A rank died or failed: the group was stopped; the job is retried from its last checkpoint."""


def record_failure(exc: BaseException, env: Mapping[str, str] = os.environ) -> None:
    """Writes the rank's error file: torch's layout, plus `ipa` (the error kind and message)."""
    path = env.get(ERROR_FILE_ENV)
    if not path:
        return
    message = str(exc) or type(exc).__name__
    data = {
        "message": {
            "message": f"{type(exc).__name__}: {message}",
            "extraInfo": {
                "py_callstack": traceback.format_exc(),
                "timestamp": str(int(time.time())),
                "ipa": {"kind": classify(exc), "exception": type(exc).__name__, "message": message},
            },
        }
    }
    with open(path, "w") as f:
        json.dump(data, f)


def _ipa_info(failure: Any) -> dict[str, Any]:
    """What a rank wrote about itself, or {} (killed, or it died before it could write)."""
    data = getattr(failure, "error_file_data", None) or {}
    message = data.get("message") if isinstance(data, dict) else None
    info = message.get("extraInfo", {}).get("ipa") if isinstance(message, dict) else None
    return info if isinstance(info, dict) else {}


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def failure_line(rank: int, failure: Any) -> str:
    info = _ipa_info(failure)
    said = f" ({info.get('exception')}: {str(info.get('message'))[:300]})" if info else ""
    return f"rank {rank} (pid {failure.pid}) {describe_exit(failure.exitcode)}{said}"


def group_error(
    failures: Mapping[int, Any], world_size: int, *, cancelled: bool, logs: str | None = None
) -> WorkerError:
    """The error for a failed group, from torch's `ChildFailedError.failures` (global rank -> ProcessFailure).

    Ranks killed by a signal lead the summary: a rank that died from outside (kill -9, the OOM
    killer) is the cause, and the others' errors (a peer that vanished mid-collective) its effect.
    """
    ranks = sorted(failures, key=lambda r: (failures[r].exitcode >= 0, r))
    kinds = {r: _ipa_info(failures[r]).get("kind") for r in ranks}
    where = f"; rank logs: {logs}" if logs else ""
    summary = (
        f"training group of {world_size} process(es) stopped: "
        + "; ".join(failure_line(r, failures[r]) for r in ranks)
        + where
    )
    if "OutOfMemory" in kinds.values():
        return OutOfMemory(summary)
    bad = [r for r in ranks if kinds[r] == "BadInput"]
    if bad:
        return BadInput(str(_ipa_info(failures[bad[0]]).get("message")))
    if cancelled:
        return Cancelled("cancelled by the orchestrator")
    return RankFailed(summary)
