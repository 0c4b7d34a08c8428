"""Stage `report`: writes the markdown Node rendered and draws the plot from results.json.

The fixture is what orchestrator/report/report-input.ts writes for a small fabricated run
(test/report/report-input.test.ts keeps the two equal): rounds 0 and 1 evaluated, round 2 not
started, policy margins logged for round 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import sha256_file
from ipa_worker.stages import report
from matplotlib.axes import Axes

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "report_results.json"


@pytest.fixture
def drawn(monkeypatch):
    """What the plot draws: line labels and placeholder texts."""
    seen: dict[str, list] = {"lines": [], "texts": []}
    plot, text = Axes.plot, Axes.text

    def record_plot(self, *args, **kwargs):
        seen["lines"].append((kwargs.get("label"), list(args[0]), list(args[1])))
        return plot(self, *args, **kwargs)

    def record_text(self, x, y, s, *args, **kwargs):
        seen["texts"].append(s)
        return text(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", record_plot)
    monkeypatch.setattr(Axes, "text", record_text)
    return seen


def _payload(make_payload, run: Path, results: dict) -> dict:
    path = run / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results), encoding="utf-8")
    return make_payload("report", run, round=2, inputs={"results": str(path)})


def test_report_writes_nodes_markdown_and_plots_accuracy_and_margins(tmp_path, make_payload, drawn):
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    payload = _payload(make_payload, tmp_path / "run", expected)
    result = report.run(payload, StageContext())

    md_path, png_path = Path(payload["outputs"]["report"]), Path(payload["outputs"]["plot"])
    assert md_path.read_text(encoding="utf-8") == expected["markdown"]
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["outputs"]["report"] == {
        "path": str(md_path),
        "rows": expected["markdown"].count("\n"),
        "sha256": sha256_file(md_path),
    }
    assert result["outputs"]["plot"]["sha256"] == sha256_file(png_path)
    assert result["metrics"] == {"rounds": 3, "final_accuracy": 0.375}

    lines = {label: (xs, ys) for label, xs, ys in drawn["lines"]}
    assert lines["overall"] == ([0, 1], [0.25, 0.375])  # round 2 has no evaluation yet: no point
    assert lines["colour"] == ([0, 1], [0.5, 0.75]) and lines["count"] == ([0, 1], [0, 0])
    assert lines["round 1"] == ([1, 2], [0.01, 0.2])
    assert drawn["texts"] == []


def test_report_of_a_run_with_nothing_evaluated_or_trained_says_why(tmp_path, make_payload, drawn):
    note = "not evaluated: eval.after is none: no round is evaluated"  # Node's words (report-input.ts)
    nothing = {
        "run_id": "r",
        "rounds": [],
        "benchmarks": [],
        "paper": None,
        "markdown": "# IPA report — r\n",
        "curves": {},
        "heldout_note": note,
    }
    rounds = json.loads(FIXTURE.read_text(encoding="utf-8"))["rounds"]
    for r in rounds:
        r.update(heldout_accuracy=None, heldout_by_task={})
    for case in (nothing, {**nothing, "rounds": rounds}):
        drawn["texts"].clear()
        payload = _payload(make_payload, tmp_path / f"run-{len(case['rounds'])}", case)
        result = report.run(payload, StageContext())
        assert Path(payload["outputs"]["report"]).read_text(encoding="utf-8") == "# IPA report — r\n"
        assert Path(payload["outputs"]["plot"]).stat().st_size > 1000
        assert [t.replace("\n", " ") for t in drawn["texts"]] == [note, "no DPO training logged"]  # wrapped to fit
        assert result["metrics"]["final_accuracy"] is None
