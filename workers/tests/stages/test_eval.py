"""The eval stage on the synthetic held-out split and a local benchmark."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ipa_worker.context import StageContext
from ipa_worker.stages import eval as eval_stage
from tracker_files import tensorboard_scalars


def test_eval_stage_on_synthetic_heldout_and_a_local_benchmark(tmp_path, tiny_synth_dir, make_payload, engines):
    syn = tmp_path / "syn"
    shutil.copytree(tiny_synth_dir, syn)  # already complete: the stage must not regenerate it
    bench = tmp_path / "bench"
    bench.mkdir()
    first = json.loads((syn / "heldout.jsonl").read_text().splitlines()[0])
    rows = [
        {
            "id": "q1",
            "image": str(syn / first["images"][0]),
            "question": "Is there a shape?",
            "answer": "yes",
            "metric": "yesno",
            "task_type": "yesno",
        },
        {"id": "q2", "images": ["missing.png"], "question": "?", "answer": "x", "metric": "exact"},
    ]
    (bench / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    payload = make_payload(
        "eval", tmp_path / "run", round=0, model={"device": "cpu"},
        data={"synthetic": {"enabled": True, "output_dir": str(syn), "train_size": 12, "heldout_size": 12}},
        eval={"benchmarks": [{"name": "local", "path": str(bench / "b.jsonl")}], "max_new_tokens": 3, "batch_size": 8},
        training={"report_to": "tensorboard"},
    )  # fmt: skip
    result = eval_stage.run(payload, StageContext(models=engines))
    doc = json.loads(Path(payload["outputs"]["eval"]).read_text())
    assert payload["outputs"]["eval"].endswith("eval/round-0.json")
    assert doc["round"] == 0 and doc["model"] == {"base": payload["models"]["generator"]["base"], "adapter": None}
    assert doc["n"] == 13 and set(doc["by_benchmark"]) == {"synthetic", "local"}
    assert {"colour", "shape", "count", "text", "position", "describe", "yesno"} == set(doc["by_task"])
    assert 0.0 <= doc["overall"] <= 1.0 and len(doc["examples"]) == 5
    assert set(doc["examples"][0]) >= {"id", "question", "answer", "prediction", "score"}
    assert [f["id"] for f in result["failed_items"]] == ["local/q2"]
    assert result["metrics"]["n"] == 13
    # How each number was measured travels with it; no lmms-eval run without eval.lmms_eval.enabled.
    assert doc["benchmarks"]["local"] == {
        "backend": "builtin",
        "kind": "task",
        "metric": "accuracy",
        "value": doc["by_benchmark"]["local"],
        "higher_is_better": True,
        "n": 1,
    }
    assert doc["lmms_eval"] is None and set(result["outputs"]) == {"eval"}
    # The numbers also reach the recipe's trackers, at step = round.
    tb = tmp_path / "run" / "tracking" / "tensorboard" / "test-run-eval"
    assert tensorboard_scalars(tb, "eval/synthetic") == [(0, pytest.approx(doc["by_benchmark"]["synthetic"]))]
