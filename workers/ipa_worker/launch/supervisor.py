"""Starts the ranks of one training job on this node and watches them as one group.

All ranks share one process group of their own (not the worker's), and each dies with the
supervisor (PR_SET_PDEATHSIG, set in `rank`). The first rank to exit non-zero brings the whole
group down with one SIGKILL to the group, so no rank is left waiting in a collective; the error
then raised tells the agent what to do (retry, halve the batch, give up). Rank 0's progress and
log lines reach the job as the worker's own; a cancel is handed to rank 0, which decides it for
all ranks at the next step.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput, Cancelled, OutOfMemory, WorkerError
from ..context import StageContext
from .channel import LineReader
from .rank import CHANNEL_FD_ENV, CONTROL_FD_ENV, SUPERVISOR_PID_ENV
from .topology import Topology, free_port, rank_env

WORKERS_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the ipa_worker package
POLL_S = 0.05
CANCEL_GRACE_S = 120.0  # ranks that ignore a cancel this long are killed


class RankFailed(WorkerError):
    """A rank died or failed: the group was stopped; the job is retried from its last checkpoint."""


@dataclass
class _Rank:
    local: int
    proc: subprocess.Popen
    channel: int
    reader: LineReader = field(default_factory=LineReader)
    error: dict[str, Any] | None = None


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(self, topo: Topology, ctx: StageContext, python: str = sys.executable):
        self.topo = topo.check()
        self.ctx = ctx
        self.python = python
        self.ranks: list[_Rank] = []
        self.pgid: int | None = None
        self.result: dict[str, Any] | None = None
        self.teardown_s: float | None = None
        self._control: int | None = None
        self.first_failed: list[_Rank] = []  # the ranks found failed when the group was stopped

    # -- start ----------------------------------------------------------------------------

    def spawn(self, payload_path: str, port: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = WORKERS_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env[SUPERVISOR_PID_ENV] = str(os.getpid())
        env.pop(CONTROL_FD_ENV, None)
        for local in range(self.topo.nproc_per_node):
            read_fd, write_fd = os.pipe()
            child_env = {**env, **rank_env(self.topo, local, port), CHANNEL_FD_ENV: str(write_fd)}
            keep = [write_fd]
            control_read = None
            if self.topo.global_rank(local) == 0:
                control_read, self._control = os.pipe()
                child_env[CONTROL_FD_ENV] = str(control_read)
                keep.append(control_read)
            try:
                proc = subprocess.Popen(
                    [self.python, "-m", f"{__package__}.rank", payload_path],
                    env=child_env, pass_fds=keep, stdin=subprocess.DEVNULL, stdout=2,
                    # One group for all ranks (the first rank's pid): a single killpg ends them all.
                    process_group=0 if self.pgid is None else self.pgid,
                )  # fmt: skip
            finally:
                os.close(write_fd)
                if control_read is not None:
                    os.close(control_read)
            if self.pgid is None:
                self.pgid = proc.pid
            os.set_blocking(read_fd, False)
            self.ranks.append(_Rank(local=local, proc=proc, channel=read_fd))

    # -- watch ----------------------------------------------------------------------------

    def _handle(self, rank: _Rank, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "progress":
            self.ctx.progress(int(msg.get("done", 0)), int(msg.get("total", 0)), **(msg.get("metrics") or {}))
        elif kind == "log":
            self.ctx.log(str(msg.get("msg", "")), level=str(msg.get("level", "info")), **(msg.get("fields") or {}))
        elif kind == "result":
            self.result = msg.get("result")
        elif kind == "error":
            rank.error = msg

    def _drain(self, sel: selectors.BaseSelector, timeout: float) -> None:
        for key, _ in sel.select(timeout):
            rank: _Rank = key.data
            try:
                data = os.read(rank.channel, 1 << 16)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(rank.channel)
                continue
            for msg in rank.reader.feed(data):
                self._handle(rank, msg)

    def _alive(self) -> list[_Rank]:
        return [r for r in self.ranks if r.proc.poll() is None]

    def kill_group(self) -> None:
        """SIGKILL every rank (and anything they started) in one call, then reap them."""
        if self.pgid is not None and self._alive():
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for r in self.ranks:
            r.proc.wait()

    def watch(self) -> None:
        sel = selectors.DefaultSelector()
        for r in self.ranks:
            sel.register(r.channel, selectors.EVENT_READ, r)
        cancel_at: float | None = None
        try:
            while True:
                self._drain(sel, POLL_S)
                if self.ctx.cancelled and cancel_at is None:
                    cancel_at = time.monotonic()
                    self._send_cancel()
                failed = [r for r in self.ranks if r.proc.poll() not in (None, 0)]
                self.first_failed = failed
                if failed or (cancel_at is not None and time.monotonic() - cancel_at > CANCEL_GRACE_S):
                    t0 = time.monotonic()
                    self.kill_group()
                    self.teardown_s = time.monotonic() - t0
                    break
                if all(r.proc.poll() == 0 for r in self.ranks):
                    break
            # Whatever the ranks wrote before they ended (their errors, rank 0's result).
            while sel.get_map():
                self._drain(sel, 0.5)
        finally:
            sel.close()

    def _send_cancel(self) -> None:
        if self._control is None:
            return
        try:
            os.write(self._control, b"cancel\n")
        except OSError:
            pass  # rank 0 is gone already: the exit check handles it

    # -- outcome --------------------------------------------------------------------------

    def outcome(self) -> dict[str, Any] | None:
        """Rank 0's result, or the error that fits the failure best."""
        failed = [r for r in self.ranks if r.proc.returncode != 0]
        if not failed:
            if self.topo.node_rank == 0 and self.result is None:
                raise RankFailed("training rank 0 exited without a result")
            return self.result
        kinds = {r.error.get("kind") for r in failed if r.error}
        # The ranks that failed first lead; the ones the teardown stopped follow.
        failed.sort(key=lambda r: r not in self.first_failed)
        words = "; ".join(self._failure_line(r) for r in failed)
        summary = f"training group of {self.topo.world_size} process(es) stopped: {words}"
        if "OutOfMemory" in kinds:
            raise OutOfMemory(summary)
        if "BadInput" in kinds:
            raise BadInput(next(r.error["message"] for r in failed if r.error and r.error.get("kind") == "BadInput"))
        if self.ctx.cancelled:
            raise Cancelled("cancelled by the orchestrator")
        raise RankFailed(summary)

    def _failure_line(self, r: _Rank) -> str:
        rank = self.topo.global_rank(r.local)
        said = f"{r.error.get('exception')}: {str(r.error.get('message'))[:300]}" if r.error else ""
        if r not in self.first_failed:  # stopped by the teardown: it went down for another rank
            return f"rank {rank} stopped with the group" + (f" (it had reported {said})" if said else "")
        return f"rank {rank} (pid {r.proc.pid}) {_describe_exit(r.proc.returncode)}" + (f" ({said})" if said else "")

    def close(self) -> None:
        self.kill_group()
        for r in self.ranks:
            try:
                os.close(r.channel)
            except OSError:
                pass
        if self._control is not None:
            try:
                os.close(self._control)
            except OSError:
                pass
            self._control = None


def run_ranks(payload: dict[str, Any], ctx: StageContext, topo: Topology, python: str = sys.executable) -> dict[str, Any] | None:
    """Runs `payload`'s stage as `topo.nproc_per_node` ranks on this node; returns rank 0's result.

    On a node other than the main one there is no rank 0 here and the result is None.
    """
    workdir = tempfile.mkdtemp(prefix="ipa-ranks-")
    sup = Supervisor(topo, ctx, python)
    try:
        payload_path = os.path.join(workdir, "payload.json")
        Path(payload_path).write_text(json.dumps(payload))
        port = topo.main_port or free_port(topo.main_addr)
        sup.spawn(payload_path, port)
        ctx.log(
            f"training on {topo.world_size} process(es): {topo.nproc_per_node} here (node {topo.node_rank} of {topo.nnodes})",
            pids=",".join(str(r.proc.pid) for r in sup.ranks), main=f"{topo.main_addr}:{port}",
        )  # fmt: skip
        sup.watch()
        if sup.teardown_s is not None:
            ctx.log(f"training group stopped in {sup.teardown_s:.2f} s after a rank failed", level="warning")
        return sup.outcome()
    finally:
        sup.close()
        shutil.rmtree(workdir, ignore_errors=True)
