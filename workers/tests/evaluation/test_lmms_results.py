"""lmms-eval's results file: tasks, groups, headline metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.evaluation.lmms_results import metric_values, parse_results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


RESULTS = FIXTURES / "lmms_eval_results.json"


# Lines as lmms-eval 0.7.3 printed them (stdout is coloured even when piped).
def test_results_tasks_groups_and_headline_metrics():
    parsed = parse_results(RESULTS, ["pope", "mme", "mmstar", "ocrbench", "ipa_ab", "mmmu_like"], {"mmstar": "average"})
    by, bench = parsed["by_benchmark"], parsed["benchmarks"]
    # The number of each requested name is the one in the file, under its first metric unless chosen.
    assert by["pope"] == 0.8712 and bench["pope"]["metric"] == "pope_accuracy" and bench["pope"]["n"] == 9000
    assert bench["pope"]["metrics"] == {"pope_accuracy": 0.8712, "pope_precision": 0.0, "pope_f1_score": 0.8655}
    assert by["mme"] == 1687.25 and bench["mme"]["metric"] == "mme_perception_score"
    assert (
        by["mmstar"] == 0.617 and bench["mmstar"]["metric"] == "average" and bench["mmstar"]["higher_is_better"] is True
    )
    assert (
        by["ocrbench"] == 0.873
        and bench["ocrbench"]["metric"] == "ocrbench_accuracy,strict"
        and bench["ocrbench"]["n"] == 200
    )
    # A group: its own aggregate, n summed over its tasks, the tasks kept as detail.
    group = bench["ipa_ab"]
    assert by["ipa_ab"] == 0.25 and group["kind"] == "group" and group["n"] == 8
    assert group["subtasks"]["ipa_a"]["value"] == 0.5 and group["subtasks"]["ipa_b"]["n"] == 2
    assert "ipa_a" not in by  # a subtask of an aggregated group is not a benchmark of its own
    # A group without an aggregate gives way to its tasks.
    assert "mmmu_like" not in by and by["part_1"] == 0.4 and by["part_2"] == 0.6
    assert bench["mmmu_like"]["value"] is None and bench["part_1"]["metric"] == "acc"
    assert parsed["seconds"] == 16.558 and parsed["warnings"] == []


def test_results_warn_on_an_unknown_chosen_metric_and_refuse_missing_tasks(tmp_path):
    parsed = parse_results(RESULTS, ["pope"], {"pope": "pope_f2"})
    assert parsed["by_benchmark"]["pope"] == 0.8712 and "pope_f2" in parsed["warnings"][0]
    with pytest.raises(BadInput, match="no entry for mathvista"):
        parse_results(RESULTS, ["pope", "mathvista"], {})
    (tmp_path / "bad.json").write_text('{"not": "results"}')
    with pytest.raises(BadInput, match="not an lmms-eval results file"):
        parse_results(tmp_path / "bad.json", ["pope"], {})


def test_metric_values_drop_stderr_aliases_and_text():
    entry = {
        "alias": " - a",
        "acc,none": 1,
        "acc_stderr,none": 0.1,
        "acc_stderr_clt,none": 0.1,
        "f1,flex": 0.5,
        "x,none": "N/A",
        "flag,none": True,
    }
    assert metric_values(entry) == {"acc": 1.0, "f1,flex": 0.5}
