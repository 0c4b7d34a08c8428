"""The ranks' error files, and the error a failed group becomes."""

from __future__ import annotations

import json

from ipa_worker.errors import BadInput, Cancelled, OutOfMemory
from ipa_worker.launch.failures import RankFailed, group_error, record_failure


class Failure:
    """What torch hands back per failed rank (ProcessFailure): pid, exit code, the error file's data."""

    def __init__(self, pid: int, exitcode: int, data: dict | None = None):
        self.pid, self.exitcode, self.error_file_data = pid, exitcode, data or {}


def recorded(tmp_path, exc: BaseException) -> dict:
    path = tmp_path / "error.json"
    try:
        raise exc
    except BaseException as e:  # noqa: BLE001
        record_failure(e, {"TORCHELASTIC_ERROR_FILE": str(path)})
    return json.loads(path.read_text())


def test_the_error_file_is_torchs_with_the_workers_kind(tmp_path):
    data = recorded(tmp_path, BadInput("pairs shard is empty"))
    assert data["message"]["message"] == "BadInput: pairs shard is empty"
    assert "raise exc" in data["message"]["extraInfo"]["py_callstack"]
    assert data["message"]["extraInfo"]["ipa"] == {
        "kind": "BadInput",
        "exception": "BadInput",
        "message": "pairs shard is empty",
    }
    from torch.distributed.elastic.multiprocessing.errors import ProcessFailure

    # torch's own reader takes it as it is.
    failure = ProcessFailure(local_rank=0, pid=7, exitcode=1, error_file=str(tmp_path / "error.json"))
    assert failure.message["message"] == "BadInput: pairs shard is empty"


def test_a_killed_rank_leads_and_the_kinds_decide_the_error(tmp_path):
    gloo = Failure(11, 1, recorded(tmp_path, RuntimeError("Connection closed by peer")))
    killed = Failure(12, -9)
    err = group_error({0: gloo, 1: killed}, 2, cancelled=False, logs="/runs/r/logs/ranks/j/attempt-1")
    assert isinstance(err, RankFailed)
    assert str(err) == (
        "training group of 2 process(es) stopped: rank 1 (pid 12) was killed by SIGKILL; "
        "rank 0 (pid 11) exited with code 1 (RuntimeError: Connection closed by peer); rank logs: /runs/r/logs/ranks/j/attempt-1"
    )
    import torch

    oom = Failure(13, 1, recorded(tmp_path, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")))
    assert isinstance(group_error({0: gloo, 1: oom}, 2, cancelled=False), OutOfMemory)
    bad = Failure(14, 1, recorded(tmp_path, BadInput("pairs shard is empty")))
    err = group_error({1: bad, 0: killed}, 2, cancelled=False)
    assert isinstance(err, BadInput) and str(err) == "pairs shard is empty"
    assert isinstance(group_error({1: killed}, 2, cancelled=True), Cancelled)


def test_no_error_file_variable_writes_nothing(tmp_path):
    record_failure(ValueError("x"), {})
    assert list(tmp_path.iterdir()) == []
