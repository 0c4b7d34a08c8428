"""The synthetic task: deterministic, atomic, balanced, with answers the image really shows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from ipa_worker.data.synthetic_task import COLOURS, COUNTS, SHAPES, SIDES, TASK_TYPES, TEXTS, generate_synthetic, main
from PIL import Image


def _rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _tree_digest(d: Path) -> dict[str, str]:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()
    }


def test_rows_and_files(tiny_synth_dir):
    d = Path(tiny_synth_dir)
    train, held = _rows(str(d / "train.jsonl")), _rows(str(d / "heldout.jsonl"))
    assert len(train) == 12 and len(held) == 12
    answers = (
        set(COLOURS)
        | set(SHAPES)
        | set(TEXTS)
        | set(SIDES)
        | {str(n) for n in COUNTS}
        | {f"{c} {s}" for c in COLOURS for s in SHAPES}
    )
    for row in train + held:
        assert set(row) >= {"id", "images", "instruction", "reference", "task_type"}
        assert row["reference"] in answers and row["task_type"] in TASK_TYPES
        img = Image.open(d / row["images"][0])
        assert img.size == (56, 56) and not Path(row["images"][0]).is_absolute()
    for row in held:
        assert row["question"] == row["instruction"] and row["answer"] == row["reference"] and row["metric"] == "exact"
    assert {r["task_type"] for r in train} == set(TASK_TYPES)  # balanced mix
    assert len({r["id"] for r in train + held}) == 24


def test_images_show_the_answer(tmp_path):
    d = Path(generate_synthetic(str(tmp_path / "s"), train=60, heldout=1, seed=3)["dir"])
    for row in _rows(str(d / "train.jsonl")):
        arr = np.asarray(Image.open(d / row["images"][0]).convert("RGB")).astype(int)
        ink = arr.min(axis=2) < 200  # background is light on every channel
        if row["task_type"] == "colour":
            centre = arr[28, 28]
            assert min(COLOURS, key=lambda c: np.abs(np.array(COLOURS[c]) - centre).sum()) == row["reference"]
        elif row["task_type"] == "position":
            xs = np.nonzero(ink)[1]
            assert ("left" if xs.mean() < 28 else "right") == row["reference"]
        elif row["task_type"] == "count":
            quads = [ink[:28, :28], ink[:28, 28:], ink[28:, :28], ink[28:, 28:]]
            assert sum(q.sum() > 20 for q in quads) == int(row["reference"])
        elif row["task_type"] == "text":
            assert ink.sum() > 20


def test_deterministic_idempotent_and_rebuilt_on_new_settings(tmp_path):
    a = Path(generate_synthetic(str(tmp_path / "a"), train=8, heldout=4, seed=5)["dir"])
    b = Path(generate_synthetic(str(tmp_path / "b"), train=8, heldout=4, seed=5)["dir"])
    assert _tree_digest(a) == _tree_digest(b)
    c = Path(generate_synthetic(str(tmp_path / "c"), train=8, heldout=4, seed=6)["dir"])
    assert _tree_digest(a) != _tree_digest(c)

    stamp = (a / "train.jsonl").stat().st_mtime_ns
    generate_synthetic(str(a), train=8, heldout=4, seed=5)
    assert (a / "train.jsonl").stat().st_mtime_ns == stamp  # already complete: untouched

    generate_synthetic(str(a), train=10, heldout=4, seed=5)  # new settings: rebuilt in place
    rows = _rows(str(a / "train.jsonl"))
    assert len(rows) == 10
    assert rows[:8] == _rows(str(b / "train.jsonl"))  # a longer split keeps its prefix


def test_cli(tmp_path, capsys):
    assert main([str(tmp_path / "cli"), "--train", "3", "--heldout", "2", "--seed", "1", "--image-size", "84"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(_rows(out["train"])) == 3 and len(_rows(out["heldout"])) == 2
    assert Image.open(Path(out["dir"]) / _rows(out["train"])[0]["images"][0]).size == (84, 84)
