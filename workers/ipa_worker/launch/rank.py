"""One training rank: `python -m ipa_worker.launch.rank CONTROL_DIR WORKER_PID` (started by torch's launcher).

torch's launcher sets the rank variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT, ...),
the log files and the error file. This process dies with the worker that launched it
(PR_SET_PDEATHSIG), shares the node's cores with its sibling ranks, joins the process group with
the recipe's collective timeout, runs the payload's stage with a `RankContext`, and reports: rank 0
its result (CONTROL_DIR/result.json), every failing rank its error kind (its error file).
The exit code says success (0) or failure (1).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
PAYLOAD = "payload.json"
CHANNEL = "channel.jsonl"
CANCEL = "cancel"
RESULT = "result.json"


def die_with_parent(worker_pid: int) -> None:
    """SIGKILL this process when the worker that launched it dies, however it dies (kill -9 included).

    The parent check covers a worker that died before the call.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != worker_pid:
        os._exit(1)


def share_cores() -> None:
    """OMP_NUM_THREADS: the node's cores split between its ranks, unless the worker fixed it.

    On a CPU, ranks that each take every core run many times slower than ones that share them.
    Set before torch is imported, so its thread pools start at that size.
    """
    if not os.environ.get("OMP_NUM_THREADS"):
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // local))


def _logging(rank: int) -> None:
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run(control: str) -> int:
    from .. import stages
    from ..models.device import resolve_device_dtype
    from ..stages import faults
    from ..training import collective
    from .channel import ChannelWriter
    from .failures import record_failure
    from .rank_context import RankContext

    rank = int(os.environ["RANK"])
    _logging(rank)
    Path(control, f"pid-{rank}").write_text(str(os.getpid()))  # the worker kills a group that ignores a cancel
    channel = ChannelWriter(os.path.join(control, CHANNEL)) if rank == 0 else None
    try:
        payload = json.loads(Path(control, PAYLOAD).read_text())
        device, _ = resolve_device_dtype(payload["recipe"]["model"])
        if device == "cuda":
            import torch

            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))  # "cuda" now means this rank's own GPU
        collective.init_group(device, payload["recipe"]["training"]["distributed"]["collective_timeout_s"])
        faults.inject_rank_faults(faults.parse_faults(os.environ.get("IPA_WORKER_FAULTS", "")), payload, rank)
        ctx = RankContext(channel, os.path.join(control, CANCEL) if rank == 0 else None)
        module = importlib.import_module(f"{stages.__name__}.{payload['stage']}")
        result = module.run(payload, ctx)
        if rank == 0:
            tmp = os.path.join(control, RESULT + ".tmp")
            Path(tmp).write_text(json.dumps(result))
            os.replace(tmp, os.path.join(control, RESULT))
        collective.close_group()
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then the process exits
        logging.getLogger(__name__).error("rank %d failed", rank, exc_info=True)
        record_failure(exc)
        return 1


if __name__ == "__main__":
    die_with_parent(int(sys.argv[2]))
    share_cores()
    code = run(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: threads started by libraries must not keep a finished rank alive.
    os._exit(code)
