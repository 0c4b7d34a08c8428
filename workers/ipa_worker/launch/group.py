"""Runs one training job's ranks with torch's elastic launcher (`torch.distributed.launcher.api`).

torch starts one rank per device on this node (`python -m ipa_worker.launch.rank`), meets the
other nodes of the job through a c10d rendezvous (a store on the leading node), gives every rank
its own log files, stops the whole group when any rank fails (no restarts: the job's retry is
the orchestrator's) and hands back each failed rank's exit code and error file. What it lacks is
added here: rank 0's progress and log lines reach the job (a channel file this process tails), a
cancel reaches rank 0 (a file it looks for at every step, `RankContext`), a group that ignores a
cancel is killed, and the error files become the worker's error kinds (`failures.group_error`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..context import StageContext
from .failures import RankFailed, group_error
from .logs import RankLogs
from .rank import CANCEL, CHANNEL, PAYLOAD, RESULT
from .topology import Topology

WORKERS_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the ipa_worker package
POLL_S = 0.05
CANCEL_GRACE_S = 120.0  # ranks that ignore a cancel this long are killed
SHUTDOWN_S = 5  # torch's SIGTERM-to-SIGKILL wait when it stops the ranks of a failed group
# The launcher turns these into exceptions while it runs (it stops its ranks first). SIGINT stays
# ignored, as in the rest of the worker: the orchestrator decides when the worker stops.
HANDLED_SIGNALS = ("SIGTERM",)
# torch's launcher logs its configuration and every worker event at INFO (its events as JSON):
# warnings and errors still reach the job's log.
QUIET_LOGGERS = ("torch.distributed", "torchelastic-events-null")


def rank_log_dir(payload: dict[str, Any], control: str) -> str:
    """Where the ranks' log and error files go: beside the job's log, one folder per try."""
    run_dir, job, attempt = payload.get("run_dir"), payload.get("job_id"), payload.get("attempt")
    if not (run_dir and job and attempt):
        return os.path.join(control, "logs")
    return os.path.join(run_dir, "logs", "ranks", str(job), f"attempt-{attempt}")


class _Relay(threading.Thread):
    """Passes rank 0's channel on to the job, and a cancel on to rank 0 (killing the ranks if it is ignored)."""

    def __init__(self, ctx: StageContext, control: str):
        super().__init__(name="ipa-group-relay", daemon=True)
        from .channel import ChannelTail

        self.ctx = ctx
        self.control = control
        self.tail = ChannelTail(os.path.join(control, CHANNEL))
        self.result: dict[str, Any] | None = None
        self._halt = threading.Event()
        self.killed = False

    def run(self) -> None:
        cancel_at: float | None = None
        while not self._halt.wait(POLL_S):
            self._relay()
            if self.ctx.cancelled and cancel_at is None:
                cancel_at = time.monotonic()
                Path(self.control, CANCEL).touch()
            if cancel_at is not None and not self.killed and time.monotonic() - cancel_at > CANCEL_GRACE_S:
                self.killed = True
                kill_ranks(self.control)
        self._relay()

    def _relay(self) -> None:
        for msg in self.tail.read():
            kind = msg.get("type")
            if kind == "progress":
                self.ctx.progress(int(msg.get("done", 0)), int(msg.get("total", 0)), **(msg.get("metrics") or {}))
            elif kind == "log":
                self.ctx.log(str(msg.get("msg", "")), level=str(msg.get("level", "info")), **(msg.get("fields") or {}))

    def stop(self) -> None:
        self._halt.set()
        self.join()


def kill_ranks(control: str) -> None:
    """SIGKILL every rank of this node (each leads its own process group) that is still this worker's child."""
    for pid_file in Path(control).glob("pid-*"):
        try:
            pid = int(pid_file.read_text())
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid():
                os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError):
            continue  # gone already


@contextlib.contextmanager
def _launcher_process_state() -> Iterator[None]:
    """The worker's state as the launcher needs it, restored after: the ranks find the package
    (PYTHONPATH), torch's INFO lines stay out of the job log, and the signal handlers it installs go."""
    saved_env = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = WORKERS_ROOT + (os.pathsep + saved_env if saved_env else "")
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    saved_levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    saved_handlers = {name: signal.getsignal(getattr(signal, name)) for name in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for name, handler in saved_handlers.items():
            if threading.current_thread() is threading.main_thread():
                signal.signal(getattr(signal, name), handler)
        for lg, level in zip(loggers, saved_levels):
            lg.setLevel(level)
        if saved_env is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved_env


def run_group(
    payload: dict[str, Any], ctx: StageContext, topo: Topology, python: str | None = None
) -> dict[str, Any] | None:
    """Runs `payload`'s stage as `topo.nproc_per_node` ranks here, in a group of `topo.nnodes` nodes.

    Returns rank 0's result, or None on a node where rank 0 did not run (it is another node's).
    """
    import sys

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous.api import RendezvousError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    topo.check()
    control = tempfile.mkdtemp(prefix="ipa-group-")
    logs = rank_log_dir(payload, control)
    timeout_s = int(payload["recipe"]["training"]["distributed"]["collective_timeout_s"])
    Path(control, PAYLOAD).write_text(json.dumps(payload))
    config = LaunchConfig(
        min_nodes=topo.nnodes,
        max_nodes=topo.nnodes,
        nproc_per_node=topo.nproc_per_node,
        run_id=topo.group_id,
        rdzv_backend="c10d",
        rdzv_endpoint=topo.endpoint,
        # A node that never comes ends the try after the collective timeout, like a hung peer.
        rdzv_configs={"is_host": topo.host, "join_timeout": timeout_s},
        max_restarts=0,
        monitor_interval=0.1,
        logs_specs=RankLogs(logs),
        local_addr=topo.node_addr,
        signals_to_handle=",".join(HANDLED_SIGNALS),
        shutdown_timeout=SHUTDOWN_S,
    )
    where = f"{topo.nproc_per_node} here" + (
        f", {topo.nnodes} nodes meeting at {topo.endpoint}" if topo.nnodes > 1 else ""
    )
    ctx.log(f"training on {topo.world_size} process(es): {where}; rank logs in {logs}", group=topo.group_id)
    relay = _Relay(ctx, control)
    relay.start()
    try:
        with _launcher_process_state():
            try:
                elastic_launch(config, python or sys.executable)("-m", f"{__package__}.rank", control, str(os.getpid()))
            except ChildFailedError as exc:
                relay.stop()
                raise group_error(exc.failures, topo.world_size, cancelled=ctx.cancelled, logs=logs) from None
            except RendezvousError as exc:
                raise RankFailed(
                    f"the training group of {topo.nnodes} node(s) did not form at {topo.endpoint}: {type(exc).__name__}: {exc}"
                ) from None
        relay.stop()
        result_file = Path(control, RESULT)
        if result_file.exists():
            return json.loads(result_file.read_text())
        if topo.nnodes == 1:
            raise RankFailed("training rank 0 exited without a result")
        return None
    finally:
        if relay.is_alive():
            relay.stop()
        shutil.rmtree(control, ignore_errors=True)
