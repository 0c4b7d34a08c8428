"""lmms-eval failures explained with a hint."""

from __future__ import annotations

from ipa_worker.evaluation.lmms_failures import explain, failed_reason
from lmms_outputs import OFFLINE_STDERR, OFFLINE_STDOUT, UNKNOWN_TASK_STDOUT


def test_failures_are_explained_with_a_hint():
    offline = explain(OFFLINE_STDOUT, OFFLINE_STDERR, 0)
    assert offline.kind == "dataset_unreachable" and offline.bad_input
    assert "lmms-lab-encoder/POPE" in offline.message and "OfflineModeIsEnabled" in offline.message
    assert "HF_HOME" in offline.hint and "include_path" in offline.hint
    unknown = explain(UNKNOWN_TASK_STDOUT, "ValueError: Tasks not found: no_such_task. Try ...", 0)
    assert unknown.kind == "unknown_task" and unknown.message == "unknown task or group: no_such_task"
    assert failed_reason(UNKNOWN_TASK_STDOUT).startswith("Tasks not found: no_such_task")
    assert explain("", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate", 1).kind == "out_of_memory"
    assert explain("", "ModuleNotFoundError: No module named 'filelock._api'", 0).kind == "dependency_conflict"
    other = explain("", "Traceback (most recent call last):\nRuntimeError: something new\n", 1)
    assert other.kind == "internal" and other.message == "RuntimeError: something new" and not other.bad_input
    assert explain("", "", 0).message == "exit code 0 and no results file"
