"""Stage `report`: the table and plot from whatever records a run directory holds."""

from __future__ import annotations

import json
from pathlib import Path

from ipa_worker.data.jsonl_io import atomic_write_json, atomic_write_jsonl
from ipa_worker.serve.context import StageContext
from ipa_worker.stages import report


def _done(run: Path, job: str, stage: str, rnd: int, outputs: dict, metrics: dict) -> None:
    atomic_write_json(run / "jobs" / f"{job}.json", {"job_id": job, "stage": stage, "round": rnd, "shard": 0, "outputs": outputs, "metrics": metrics})


def _fake_run(run: Path) -> None:
    _done(run, "r0.prepare", "prepare", 0, {"seeds": {"path": "x", "rows": 20, "sha256": ""}}, {"seeds": 20})
    atomic_write_json(run / "eval" / "round-0.json", {"round": 0, "overall": 0.25, "by_task": {"colour": 0.5, "count": 0.0}, "n": 8})
    verdicts = run / "round-1" / "verdicts" / "shard-000.jsonl"
    atomic_write_jsonl(verdicts, [{"verdict": v} for v in (1, 0, 0, 1)])
    _done(run, "r1.sample.s000", "sample", 1, {}, {"seeds": 10, "failed_seeds": 0, "normal": 40, "contrastive": 40})
    _done(run, "r1.verify.s000", "verify", 1, {"verdicts": {"path": str(verdicts), "rows": 4, "sha256": ""}}, {})
    _done(run, "r1.revise.s000", "revise", 1, {"revisions": {"path": "x", "rows": 12, "sha256": ""}}, {})
    _done(run, "r1.pair.s000", "pair", 1, {k: {"path": "x", "rows": n, "sha256": ""} for k, n in (("pairs", 9), ("feedback_pairs", 3), ("challenging", 4))}, {})
    atomic_write_jsonl(run / "round-1" / "train_metrics.jsonl", [
        {"model": "policy", "step": 1, "loss": 0.69, "rewards/chosen": 0.0, "rewards/rejected": 0.0, "rewards/margins": 0.01, "rewards/accuracies": 0.5},
        {"model": "policy", "step": 2, "loss": 0.6, "rewards/chosen": 0.1, "rewards/rejected": -0.1, "rewards/margins": 0.2, "rewards/accuracies": 0.75},
        {"model": "reviser", "step": 1, "loss": 0.69, "rewards/margins": 0.0, "rewards/accuracies": 0.1},
    ])  # fmt: skip
    atomic_write_json(run / "eval" / "round-1.json", {"round": 1, "overall": 0.375, "by_task": {"colour": 0.75, "count": 0.0}, "n": 8})
    (run / "jobs" / "torn.json").write_text("{ half a reco")  # unreadable records are skipped


def test_report_table_and_plot(tmp_path, make_payload):
    run = tmp_path / "run"
    _fake_run(run)
    payload = make_payload("report", run, round=1)
    result = report.run(payload, StageContext())
    md = Path(payload["outputs"]["report"]).read_text()
    lines = md.splitlines()
    r0 = next(line for line in lines if line.startswith("| 0 | 20 |"))
    r1 = next(line for line in lines if line.startswith("| 1 | 10 |"))
    assert r0 == "| 0 | 20 | – | – | – | – | – | – | – | – | 25.0% |"
    assert r1 == "| 1 | 10 | 40 | 40 | 12 | 50.0% | 9 | 3 | 4 | 75.0% | 37.5% |"
    assert "| 1 | 75.0% | 0.0% | 37.5% | 8 |" in md  # by task type: colour, count
    png = Path(payload["outputs"]["plot"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["outputs"]["report"]["path"].endswith("report.md") and result["metrics"]["final_accuracy"] == 0.375


def test_report_of_an_empty_run(tmp_path, make_payload):
    payload = make_payload("report", tmp_path / "empty")
    report.run(payload, StageContext())
    md = Path(payload["outputs"]["report"]).read_text()
    assert "# IPA report" in md and "–" in md
    assert Path(payload["outputs"]["plot"]).stat().st_size > 1000
    assert json.loads(json.dumps(report.collect(str(tmp_path / "empty")))) == {"rounds": {}, "evals": {}, "train": {}}
