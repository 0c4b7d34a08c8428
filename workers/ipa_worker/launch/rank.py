"""One training rank: `python -m ipa_worker.launch.rank PAYLOAD.json` (started by the supervisor).

It dies with its supervisor (PR_SET_PDEATHSIG), joins the process group with the recipe's
collective timeout, runs the payload's stage with a `RankContext`, and reports over the channel:
rank 0 its result, every rank its error. The exit code says success (0) or failure (1).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

CHANNEL_FD_ENV = "IPA_RANK_CHANNEL_FD"
CONTROL_FD_ENV = "IPA_RANK_CONTROL_FD"
SUPERVISOR_PID_ENV = "IPA_RANK_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGKILL this process when its supervisor dies, however it dies (kill -9 included).

    Set here rather than in a preexec_fn, which is unsafe in the threaded worker; the parent check
    covers a supervisor that died before the call.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    if expected and os.getppid() != int(expected):
        os._exit(1)


def _logging(rank: int) -> None:
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run(payload_path: str) -> int:
    from .. import stages
    from ..errors import classify
    from ..models.device import resolve_device_dtype
    from ..training import collective
    from .channel import ChannelWriter
    from .rank_context import RankContext

    rank = int(os.environ["RANK"])
    _logging(rank)
    channel = ChannelWriter(int(os.environ[CHANNEL_FD_ENV]))
    control = os.environ.get(CONTROL_FD_ENV)
    try:
        payload = json.loads(Path(payload_path).read_text())
        device, _ = resolve_device_dtype(payload["recipe"]["model"])
        if device == "cuda":
            import torch

            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))  # "cuda" now means this rank's own GPU
        collective.init_group(device, payload["recipe"]["training"]["distributed"]["collective_timeout_s"])
        ctx = RankContext(channel if rank == 0 else None, int(control) if control else None)
        module = importlib.import_module(f"{stages.__name__}.{payload['stage']}")
        result = module.run(payload, ctx)
        if rank == 0:
            channel.send({"type": "result", "result": result})
        collective.close_group()
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, then the process exits
        channel.send({"type": "error", "kind": classify(exc), "message": str(exc) or type(exc).__name__,
                      "exception": type(exc).__name__, "traceback": traceback.format_exc()})  # fmt: skip
        return 1


if __name__ == "__main__":
    die_with_parent()
    code = run(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: threads started by libraries must not keep a finished rank alive.
    os._exit(code)
