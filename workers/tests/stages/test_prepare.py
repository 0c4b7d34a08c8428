"""The prepare stage: synthetic data and a built tiny model, and a run with no usable seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.errors import BadInput
from ipa_worker.stages import prepare
from seed_files import write_jsonl_lines


def test_prepare_stage_with_synthetic_data(tmp_path, make_payload, tiny_model_dir):
    run_dir = tmp_path / "run"
    payload = make_payload(
        "prepare", run_dir, round=0,
        model={"build_tiny": True},
        data={"synthetic": {"enabled": True, "output_dir": str(tmp_path / "syn"), "train_size": 12, "heldout_size": 6}},
    )  # fmt: skip
    result = prepare.run(payload, StageContext())
    seeds = read_jsonl(result["outputs"]["seeds"]["path"])
    assert result["outputs"]["seeds"]["rows"] == len(seeds) == 12
    assert result["outputs"]["seeds"]["path"] == str(run_dir / "data" / "seeds.jsonl")
    assert result["metrics"]["seeds"] == 12 and result["metrics"]["rejected"] == 0
    assert sum(result["metrics"]["by_task_type"].values()) == 12 and "built_tiny_model" not in result["metrics"]
    assert all(Path(p).is_absolute() and Path(p).exists() for s in seeds for p in s["images"])
    assert (tmp_path / "syn" / "heldout.jsonl").exists()
    assert read_jsonl(result["outputs"]["rejected"]["path"]) == []


def test_prepare_builds_the_model_and_fails_only_without_any_seed(tmp_path, make_payload, jsonl_source):
    bad = tmp_path / "bad.jsonl"
    write_jsonl_lines(bad, [{"image": "nope.png", "instruction": "x", "reference": "y"}])
    base = tmp_path / "models" / "tiny"
    payload = make_payload(
        "prepare",
        tmp_path / "run",
        round=0,
        model={"base": str(base), "build_tiny": True},
        data={"sources": [{"path": str(bad)}]},
    )
    with pytest.raises(BadInput, match="no usable seed"):
        prepare.run(payload, StageContext())
    assert (base / "config.json").exists()  # the model was built before the data turned out empty

    payload["recipe"]["data"]["sources"].append({"path": str(jsonl_source), "format": "jsonl", "weight": 1})
    result = prepare.run(payload, StageContext())
    assert result["metrics"]["seeds"] == 4 and result["metrics"]["rejected"] == 9  # default length limit keeps "long"
    assert result["failed_items"] == []
