"""Running lmms-eval in a child process: its log and progress forwarded, its failures explained.

A child process keeps lmms-eval's imports, global logging set-up and memory out of the long-lived
worker, and lets a cancel stop it at once. The child dies with the worker (PR_SET_PDEATHSIG), so a
killed worker never leaves an evaluation holding a GPU. Log lines become protocol `log` messages
(`source: lmms-eval`), the answer bar becomes protocol `progress`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from ..context import StageContext
from ..errors import BadInput, Cancelled, OutOfMemory, WorkerError
from .lmms_failures import explain, failed_reason
from .lmms_stream import ANSWER_BAR, clean, parse_progress, parse_stdout_line, split_segments

STDERR_KEPT = 400  # lines of stderr kept for explaining a failure (tracebacks end there)
TERMINATE_GRACE_S = 10.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment, plus this package on PYTHONPATH (local tasks call its hooks)."""
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root if not path else f"{package_root}{os.pathsep}{path}"
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env | (extra or {})


def newest_results(output_path: Path, since: float) -> Path | None:
    """The newest `*_results.json` under `output_path` written at or after `since` (lmms-eval
    names it by a timestamp in its own time zone, so names cannot be trusted for order)."""
    found = [p for p in output_path.rglob("*_results.json") if p.stat().st_mtime >= since - 1]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


class _Output:
    """Collects the child's output and forwards it as it arrives."""

    def __init__(self, ctx: StageContext):
        self.ctx = ctx
        self.stdout: list[str] = []
        self.stderr: deque[str] = deque(maxlen=STDERR_KEPT)

    def read_stdout(self, stream) -> None:
        for raw in stream:
            line = parse_stdout_line(raw)
            if line is None:
                continue
            self.stdout.append(clean(raw))
            self.ctx.log(line.msg, level=line.level, source="lmms-eval", at=line.source)

    def read_stderr(self, stream) -> None:
        buffer = ""
        while chunk := stream.read(256):
            segments, buffer = split_segments(buffer + chunk)
            for segment in segments:
                self._stderr_segment(segment)
        if buffer.strip():
            self._stderr_segment(buffer)

    def _stderr_segment(self, segment: str) -> None:
        progress = parse_progress(segment)
        if progress is not None:
            if progress.desc == ANSWER_BAR:
                self.ctx.progress(progress.done, progress.total, phase=progress.desc)
            return
        text = clean(segment)
        self.stderr.append(text)
        self.ctx.log(text, level="debug", source="lmms-eval", stream="stderr")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(TERMINATE_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_lmms_eval(
    cmd: list[str], output_path: str | Path, ctx: StageContext, env: dict[str, str] | None = None
) -> Path:
    """Runs `cmd`; returns the results file it wrote, or raises with lmms-eval's reason and a hint.

    Known mistakes (unreachable datasets, unknown tasks, missing packages) raise BadInput, so the
    job fails once with that message; CUDA out-of-memory raises OutOfMemory (retried with half
    the batch); anything else is an internal error, retried like any other.
    """
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    ctx.log("lmms-eval started", source="lmms-eval", command=" ".join(cmd))
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
        env=env if env is not None else child_env(), preexec_fn=_die_with_parent,
    )  # fmt: skip
    output = _Output(ctx)
    readers = [
        threading.Thread(target=output.read_stdout, args=(proc.stdout,), daemon=True),
        threading.Thread(target=output.read_stderr, args=(proc.stderr,), daemon=True),
    ]
    for t in readers:
        t.start()
    try:
        while proc.poll() is None:
            if ctx.cancelled:
                _stop(proc)
                raise Cancelled("cancelled by the orchestrator (lmms-eval stopped)")
            time.sleep(0.2)
    except BaseException:
        if proc.poll() is None:
            _stop(proc)
        raise
    finally:
        for t in readers:
            t.join(timeout=30)
    stdout, stderr = "\n".join(output.stdout), "\n".join(output.stderr)
    results = newest_results(out, started)
    if results is not None and failed_reason(stdout) is None:
        ctx.log("lmms-eval finished", source="lmms-eval", results=str(results), seconds=round(time.time() - started, 1))
        return results
    failure = explain(stdout, stderr, proc.returncode)
    ctx.log(failure.text(), level="error", source="lmms-eval", kind=failure.kind)
    error: type[WorkerError] = (
        OutOfMemory if failure.kind == "out_of_memory" else BadInput if failure.bad_input else WorkerError
    )
    raise error(failure.text())
