"""Seed loading and the prepare stage: every format, per-row rejection with reasons, mixing."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.data.seed_sources import Source, _quotas, load_seeds
from ipa_worker.errors import BadInput
from ipa_worker.context import StageContext
from ipa_worker.stages import prepare


def _png(colour="red", size=(28, 28)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _write_jsonl(path: Path, rows: list) -> None:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows))


@pytest.fixture
def jsonl_source(tmp_path) -> Path:
    d = tmp_path / "src"
    (d / "img").mkdir(parents=True)
    (d / "img" / "a.png").write_bytes(_png("red"))
    (d / "img" / "b.png").write_bytes(_png("blue"))
    (d / "img" / "broken.png").write_bytes(_png()[:40])
    rows = [
        {"id": "good-1", "image": "img/a.png", "instruction": "What colour?", "reference": "red", "task_type": "colour"},
        {"images": ["img/b.png", "img/a.png"], "question": "Which is blue?", "answer": "first"},  # aliases, no id
        {"id": "no-image", "image": "img/missing.png", "instruction": "x", "reference": "y"},
        {"id": "corrupt", "image": "img/broken.png", "instruction": "x", "reference": "y"},
        {"id": "no-instr", "image": "img/a.png", "reference": "y"},
        {"id": "long", "image": "img/a.png", "instruction": "w" * 101, "reference": "y"},
        {"id": "no-ref", "image": "img/a.png", "instruction": "x", "reference": "  "},
        b"{not json",
        b'{"id": "latin1", "image": "img/a.png", "instruction": "caf\xe9", "reference": "y"}',
        {"id": "good-1", "image": "img/a.png", "instruction": "dup", "reference": "y"},
        {"id": "surrogate", "image": "img/a.png", "instruction": "bad \ud800", "reference": "y"},
        {"id": 7, "image": "img/b.png", "instruction": "Number?", "reference": 3},
    ]
    _write_jsonl(d / "seeds.jsonl", rows)
    return d / "seeds.jsonl"


def test_jsonl_rows_are_kept_or_rejected_with_the_right_reason(jsonl_source, tmp_path):
    res = load_seeds([{"path": str(jsonl_source)}], images_dir=tmp_path / "run" / "images", data_cfg={"max_instruction_chars": 100})
    assert sorted(r["id"] for r in res.seeds) == ["7", "good-1", "seeds-2"]  # row id, or source name + line
    by_id = {r["id"]: r for r in res.seeds}
    assert by_id["seeds-2"]["images"] == [str(jsonl_source.parent / "img" / "b.png"), str(jsonl_source.parent / "img" / "a.png")]
    assert by_id["seeds-2"]["instruction"] == "Which is blue?" and by_id["seeds-2"]["task_type"] == "general"
    assert by_id["7"]["reference"] == "3"
    assert set(by_id["good-1"]) == {"id", "images", "instruction", "reference", "task_type", "source"}
    assert by_id["good-1"]["source"] == "seeds"
    reasons = {r["id"]: r["reason"] for r in res.rejected}
    assert "not found" in reasons["no-image"]
    assert "image unusable" in reasons["corrupt"]
    assert reasons["no-instr"] == "instruction is missing"
    assert "longer than max_instruction_chars 100" in reasons["long"]
    assert reasons["no-ref"] == "reference is empty"
    assert "invalid JSON" in reasons["seeds-8"]
    assert "not valid UTF-8" in reasons["seeds-9"]
    assert "duplicate id" in next(r["reason"] for r in res.rejected if r["line"] == 10)
    assert "UTF-8" in reasons["surrogate"]
    assert all(set(r) == {"source", "line", "id", "reason"} for r in res.rejected)
    assert {r["line"] for r in res.rejected} == {3, 4, 5, 6, 7, 8, 9, 10, 11}


def test_parquet_hf_and_sharegpt_with_embedded_images(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    png = _png("green")
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    table = pa.table({
        "id": ["p1", "p2"],
        "image": [{"bytes": png, "path": None}, {"bytes": b"garbage", "path": None}],
        "question": ["What colour?", "Broken?"],
        "answer": ["green", "no"],
    })  # fmt: skip
    pq.write_table(table, pq_dir / "part-0.parquet")

    ds = datasets.Dataset.from_dict(
        {"image": [{"bytes": png, "path": None}], "instruction": ["Colour?"], "reference": ["green"]},
        features=datasets.Features({"image": datasets.Image(), "instruction": datasets.Value("string"), "reference": datasets.Value("string")}),
    )
    ds.save_to_disk(str(tmp_path / "hf"))

    (tmp_path / "llava" / "imgs").mkdir(parents=True)
    (tmp_path / "llava" / "imgs" / "x.png").write_bytes(_png("blue"))
    convo = [
        {"id": "s1", "image": "x.png", "conversations": [
            {"from": "human", "value": "<image>\nWhat colour is it?"}, {"from": "gpt", "value": "Blue."},
            {"from": "human", "value": "Sure?"}, {"from": "gpt", "value": "Yes."}]},
        {"id": "s2", "image": "x.png", "conversations": [{"from": "human", "value": "<image>\nNo answer here"}]},
        {"id": "s3", "image": base64.b64encode(png).decode(), "conversations": [
            {"from": "human", "value": "Embedded?"}, {"from": "gpt", "value": "yes"}]},
    ]  # fmt: skip
    (tmp_path / "llava" / "chat.json").write_text(json.dumps(convo))

    images_dir = tmp_path / "run" / "data" / "images"
    res = load_seeds(
        [
            {"path": str(pq_dir), "format": "parquet"},
            {"path": str(tmp_path / "hf"), "format": "hf"},
            {"path": str(tmp_path / "llava" / "chat.json"), "format": "sharegpt", "image_root": str(tmp_path / "llava" / "imgs")},
        ],
        images_dir=images_dir,
    )
    by_id = {r["id"]: r for r in res.seeds}
    assert set(by_id) == {"p1", "hf-1", "s1", "s3"}
    assert by_id["s1"]["instruction"] == "What colour is it?" and by_id["s1"]["reference"] == "Blue."
    for rid in ("p1", "hf-1", "s3"):  # embedded bytes are written once, content-addressed
        path = Path(by_id[rid]["images"][0])
        assert path.parent == images_dir and path.read_bytes() == png
    assert len(list(images_dir.iterdir())) == 1
    reasons = {r["id"]: r["reason"] for r in res.rejected}
    assert "not an image" in reasons["p2"] and reasons["s2"] == "reference is missing"


def test_mixing_by_weight_is_seeded(tmp_path):
    (tmp_path / "a.png").write_bytes(_png())
    for name, n in (("big", 40), ("small", 40), ("tiny", 3)):
        _write_jsonl(tmp_path / f"{name}.jsonl", [{"image": "a.png", "instruction": f"{name} {i}", "reference": "r"} for i in range(n)])
    sources = [
        {"path": str(tmp_path / "big.jsonl"), "weight": 3},
        {"path": str(tmp_path / "small.jsonl"), "weight": 1},
        {"path": str(tmp_path / "tiny.jsonl"), "weight": 4, "max_rows": 2},
    ]
    res = load_seeds(sources, images_dir=tmp_path / "imgs", data_cfg={"max_seeds": 20}, seed=1)
    counts = Counter(r["source"] for r in res.seeds)
    # tiny gives all it has (2); the other 18 split 3:1, i.e. 13.5 : 4.5, rounded either way
    assert counts["tiny"] == 2 and counts["big"] + counts["small"] == 18 and counts["big"] in (13, 14)
    again = load_seeds(sources, images_dir=tmp_path / "imgs", data_cfg={"max_seeds": 20}, seed=1)
    assert [r["id"] for r in again.seeds] == [r["id"] for r in res.seeds]
    other = load_seeds(sources, images_dir=tmp_path / "imgs", data_cfg={"max_seeds": 20}, seed=2)
    assert [r["id"] for r in other.seeds] != [r["id"] for r in res.seeds]
    assert len(load_seeds(sources, images_dir=tmp_path / "imgs").seeds) == 82  # no cap: every valid row
    assert _quotas([10, 10], [1, 1], 5) in ([3, 2], [2, 3]) and sum(_quotas([1, 0, 50], [5, 5, 1], 30)) == 30


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
    _write_jsonl(bad, [{"image": "nope.png", "instruction": "x", "reference": "y"}])
    base = tmp_path / "models" / "tiny"
    payload = make_payload("prepare", tmp_path / "run", round=0, model={"base": str(base), "build_tiny": True}, data={"sources": [{"path": str(bad)}]})
    with pytest.raises(BadInput, match="no usable seed"):
        prepare.run(payload, StageContext())
    assert (base / "config.json").exists()  # the model was built before the data turned out empty

    payload["recipe"]["data"]["sources"].append({"path": str(jsonl_source), "format": "jsonl", "weight": 1})
    result = prepare.run(payload, StageContext())
    assert result["metrics"]["seeds"] == 4 and result["metrics"]["rejected"] == 9  # default length limit keeps "long"
    assert result["failed_items"] == []
