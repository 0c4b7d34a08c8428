"""Seed source files for the loader and the prepare stage: PNG bytes, raw JSONL lines, a source with bad rows."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image


def png_bytes(colour="red", size=(28, 28)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def write_jsonl_lines(path: Path, rows: list) -> None:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows))


def write_seed_source(root: Path) -> Path:
    """A JSONL seed source under `root`: good rows (one with alias fields) and one of every kind of bad row."""
    d = root / "src"
    (d / "img").mkdir(parents=True)
    (d / "img" / "a.png").write_bytes(png_bytes("red"))
    (d / "img" / "b.png").write_bytes(png_bytes("blue"))
    (d / "img" / "broken.png").write_bytes(png_bytes()[:40])
    rows = [
        {
            "id": "good-1",
            "image": "img/a.png",
            "instruction": "What colour?",
            "reference": "red",
            "task_type": "colour",
        },
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
    write_jsonl_lines(d / "seeds.jsonl", rows)
    return d / "seeds.jsonl"
