"""The worker server spoken to as the orchestrator does: a subprocess, JSON lines on stdin/stdout."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

WORKERS = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, test_methods: bool = True, extra_env: dict[str, str] | None = None):
        env = dict(os.environ, PYTHONPATH=str(WORKERS), PYTHONUNBUFFERED="1")
        env.pop("IPA_WORKER_TEST_METHODS", None)
        env.pop("IPA_WORKER_FAULTS", None)
        env.update(extra_env or {})
        if test_methods:
            env["IPA_WORKER_TEST_METHODS"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ipa_worker", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.raw_lines: list[bytes] = []
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.ready = self.next(timeout=30)
        self._id = 0

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.raw_lines.append(line)
            self.messages.put(json.loads(line))
        self.messages.put(None)

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def send(self, msg: dict[str, Any]) -> None:
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._id += 1
        self.send({"v": 1, "type": "request", "id": self._id, "method": method, "params": params or {}})
        return self._id

    def next(self, timeout: float = 10) -> dict[str, Any]:
        msg = self.messages.get(timeout=timeout)
        assert msg is not None, f"worker exited; stderr: {''.join(self.stderr)}"
        return msg

    def reply(self, id: int, timeout: float = 10, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The result or error of request `id`; other messages go to `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if msg.get("id") == id and msg["type"] in ("result", "error"):
                return msg
            if seen is not None:
                seen.append(msg)

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(timeout=10)


@pytest.fixture
def worker():
    w = Worker()
    yield w
    w.close()


def test_ready_reports_versions_devices_and_backends(worker):
    r = worker.ready
    assert r["v"] == 1 and r["type"] == "ready" and r["pid"] == worker.proc.pid
    assert r["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(r["versions"]) == {"python", "torch", "transformers", "trl", "peft"}
    assert r["devices"][0] == {"kind": "cpu"}
    assert all(d["kind"] == "cuda" and {"index", "name", "memory_bytes"} <= set(d) for d in r["devices"][1:])
    assert "hf" in r["backends"]


def test_server_module_does_not_import_torch():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, ipa_worker.serve.server; print('torch' in sys.modules)"],
        env=dict(os.environ, PYTHONPATH=str(WORKERS)),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_echo_round_trip(worker):
    data = {"text": "héllo ✓", "n": [1, 2.5, None, True], "nested": {"a": {"b": []}}}
    id = worker.request("echo", {"data": data})
    assert worker.reply(id) == {"v": 1, "type": "result", "id": id, "result": {"data": data}}


def test_ping(worker):
    id = worker.request("ping")
    assert worker.reply(id)["result"] == {"pid": worker.proc.pid}


def test_string_ids_are_echoed(worker):
    worker.send({"v": 1, "type": "request", "id": "job-7", "method": "echo", "params": {"data": 1}})
    assert worker.reply("job-7")["result"] == {"data": 1}


SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"stage": {"type": "string"}, "round": {"type": "integer", "minimum": 0}},
    "required": ["stage", "round"],
}


def test_configure_then_stage_payload_rejected_with_json_path(worker):
    id = worker.request("configure", {"payload_schema": SCHEMA})
    assert worker.reply(id)["type"] == "result"
    id = worker.request("stage", {"stage": "sample", "round": "one"})
    err = worker.reply(id)
    assert err["type"] == "error" and err["error"]["type"] == "BadInput"
    assert "$.round" in err["error"]["message"]
    assert "Traceback" in err["error"]["traceback"]


def test_stage_unknown_after_valid_payload_is_bad_input(worker):
    worker.reply(worker.request("configure", {"payload_schema": SCHEMA}))
    err = worker.reply(worker.request("stage", {"stage": "no_such_stage", "round": 1}))
    assert err["error"]["type"] == "BadInput" and "unknown stage" in err["error"]["message"]
    err = worker.reply(worker.request("stage", {"stage": "../etc", "round": 1}))
    assert err["error"]["type"] == "BadInput" and "invalid stage name" in err["error"]["message"]


def test_configure_rejects_an_invalid_schema(worker):
    err = worker.reply(worker.request("configure", {"payload_schema": {"type": 12}}))
    assert err["error"]["type"] == "BadInput"
    err = worker.reply(worker.request("configure", {}))
    assert err["error"]["type"] == "BadInput"


def test_unknown_method_errors_with_traceback(worker):
    err = worker.reply(worker.request("frobnicate"))
    assert err["type"] == "error" and err["error"]["type"] == "BadInput"
    assert "frobnicate" in err["error"]["message"]
    assert err["error"]["traceback"].startswith("Traceback") and "BadInput" in err["error"]["traceback"]


def test_bad_lines_do_not_stop_the_server(worker):
    worker.proc.stdin.write(b"not json\n[1]\n")
    worker.send({"v": 2, "type": "request", "id": 50, "method": "ping"})
    worker.send({"v": 1, "type": "request", "id": 51, "method": "ping", "params": [1]})
    worker.proc.stdin.flush()
    assert "version" in worker.reply(50)["error"]["message"]
    assert worker.reply(51)["error"]["type"] == "BadInput"
    assert worker.reply(worker.request("ping"))["type"] == "result"


def test_progress_is_throttled_and_ends_complete(worker):
    seen: list[dict[str, Any]] = []
    t0 = time.monotonic()
    id = worker.request("sleep", {"seconds": 1.2, "steps": 40})
    res = worker.reply(id, seen=seen)
    elapsed = time.monotonic() - t0
    assert res["result"] == {"seconds": 1.2, "steps": 40}
    progress = [m for m in seen if m["type"] == "progress"]
    assert progress and all(m["id"] == id and m["total"] == 40 for m in progress)
    assert progress[-1]["done"] == 40 and progress[-1]["metrics"] == {"step": 40}
    assert len(progress) <= 2 * elapsed + 2


def test_cancel_stops_sleep_and_server_stays_usable(worker):
    seen: list[dict[str, Any]] = []
    id = worker.request("sleep", {"seconds": 30, "steps": 300})
    while not any(m["type"] == "progress" for m in seen):
        seen.append(worker.next())
    t0 = time.monotonic()
    worker.send({"v": 1, "type": "cancel", "id": id})
    err = worker.reply(id, timeout=5)
    assert err["type"] == "error" and err["error"]["type"] == "Cancelled"
    assert time.monotonic() - t0 < 2
    assert worker.reply(worker.request("echo", {"data": "after"}))["result"] == {"data": "after"}


def test_echo_answers_while_a_slow_request_runs(worker):
    slow = worker.request("sleep", {"seconds": 3, "steps": 3})
    t0 = time.monotonic()
    assert worker.reply(worker.request("echo", {"data": 1}), timeout=2)["result"] == {"data": 1}
    assert time.monotonic() - t0 < 1
    worker.send({"v": 1, "type": "cancel", "id": slow})
    assert worker.reply(slow)["error"]["type"] == "Cancelled"


def test_queued_request_cancelled_before_it_starts(worker):
    first = worker.request("sleep", {"seconds": 30, "steps": 300})
    second = worker.request("sleep", {"seconds": 30, "steps": 300})
    worker.send({"v": 1, "type": "cancel", "id": second})
    worker.send({"v": 1, "type": "cancel", "id": first})
    assert worker.reply(first)["error"]["type"] == "Cancelled"
    err = worker.reply(second)
    assert err["error"]["type"] == "Cancelled" and "before it started" in err["error"]["message"]


def test_stray_prints_go_to_stderr_not_the_protocol(worker):
    seen: list[dict[str, Any]] = []
    id = worker.request("pollute", {"text": "STRAY-TEXT"})
    assert worker.reply(id, seen=seen)["type"] == "result"
    assert worker.reply(worker.request("echo", {"data": 2}))["result"] == {"data": 2}
    for line in worker.raw_lines:
        json.loads(line)
    logs = [m for m in seen if m["type"] == "log"]
    assert (
        logs
        and logs[0]["id"] == id
        and logs[0]["msg"] == "polluted stdout"
        and logs[0]["fields"]["text"] == "STRAY-TEXT"
    )
    worker.reply(worker.request("shutdown"))
    worker.proc.wait(timeout=10)
    time.sleep(0.1)
    err = "".join(worker.stderr)
    assert "STRAY-TEXT\n" in err and "STRAY-TEXT (written to fd 1)" in err


def test_crash_exits_with_the_code(worker):
    worker.request("crash", {"code": 7})
    assert worker.proc.wait(timeout=10) == 7
    assert worker.messages.get(timeout=5) is None


def test_shutdown_answers_then_exits_zero(worker):
    id = worker.request("shutdown")
    assert worker.reply(id)["result"] == {}
    assert worker.proc.wait(timeout=10) == 0


def test_shutdown_cancels_running_work(worker):
    slow = worker.request("sleep", {"seconds": 30, "steps": 300})
    bye = worker.request("shutdown")
    assert worker.reply(slow)["error"]["type"] == "Cancelled"
    assert worker.reply(bye)["type"] == "result"
    assert worker.proc.wait(timeout=10) == 0


def test_end_of_input_exits_zero(worker):
    worker.proc.stdin.close()
    assert worker.proc.wait(timeout=10) == 0


def test_test_methods_need_the_env_switch():
    w = Worker(test_methods=False)
    try:
        err = w.reply(w.request("sleep", {"seconds": 0}))
        assert err["error"]["type"] == "BadInput" and "unknown method" in err["error"]["message"]
    finally:
        w.close()


def test_injected_oom_fails_only_its_stage_at_full_batch():
    # A stage name with no module: once past the hook the request ends in BadInput "unknown
    # stage", which shows the hook let it through without importing any stage code.
    w = Worker(extra_env={"IPA_WORKER_FAULTS": "oom:fault_probe"})
    try:
        full = w.reply(w.request("stage", {"stage": "fault_probe", "options": {"batch_scale": 1.0}}))
        assert full["error"]["type"] == "OutOfMemory" and "IPA_WORKER_FAULTS" in full["error"]["message"]
        default = w.reply(w.request("stage", {"stage": "fault_probe"}))
        assert default["error"]["type"] == "OutOfMemory"
        half = w.reply(w.request("stage", {"stage": "fault_probe", "options": {"batch_scale": 0.5}}))
        assert half["error"]["type"] == "BadInput" and "unknown stage" in half["error"]["message"]
        other = w.reply(w.request("stage", {"stage": "other_probe", "options": {"batch_scale": 1.0}}))
        assert other["error"]["type"] == "BadInput" and "unknown stage" in other["error"]["message"]
    finally:
        w.close()


def test_no_fault_without_the_env_switch(worker):
    err = worker.reply(worker.request("stage", {"stage": "fault_probe", "options": {"batch_scale": 1.0}}))
    assert err["error"]["type"] == "BadInput" and "unknown stage" in err["error"]["message"]


def test_malformed_fault_spec_stops_the_worker_before_ready():
    env = dict(os.environ, PYTHONPATH=str(WORKERS), IPA_WORKER_FAULTS="oom:sample,explode:train")
    out = subprocess.run(
        [sys.executable, "-m", "ipa_worker", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert out.returncode != 0 and out.stdout == b""
    assert b"explode:train" in out.stderr


def test_deeply_nested_line_is_refused_and_the_reader_lives_on(worker):
    # Issue 14, finding 6: 100k nested "[" used to kill the reader thread (exit 0, no reply).
    worker.proc.stdin.write(b"[" * 100_000 + b"\n")
    worker.proc.stdin.flush()
    assert worker.reply(worker.request("ping"))["type"] == "result"
    assert worker.proc.poll() is None


def test_an_overlong_line_is_skipped_unread_and_the_next_one_answered(caplog):
    # Issue 14, finding 6: one unbounded line grew the process to ~1 GB. With a 1 KB limit, a
    # 300 KB line is skipped in chunks (never held whole) and the request after it is answered.
    import io

    from ipa_worker.serve.server import Server

    ping = json.dumps({"v": 1, "type": "request", "id": 7, "method": "ping"}).encode() + b"\n"
    inp = io.BytesIO(
        b'{"v": 1, "type": "request", "id": 6, "method": "echo", "params": {"data": "'
        + b"x" * 300_000
        + b'"}}\n'
        + ping
    )
    out = io.BytesIO()
    assert Server(inp, out, max_line=1024).run() == 0
    msgs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [m["id"] for m in msgs if m["type"] == "result"] == [7]
    # (In a served process this warning is a `log` message into the job's log.)
    assert "ignored a protocol line of 300079 bytes, more than the limit of 1024" in caplog.text
