"""A synthetic visual task, generated from a seed: shapes, colours, counts, positions, text.

Each item is one PIL-drawn square image with a single big visual cue and an instruction whose
reference answer is short and canonical ("red", "3", "circle", "K", "left", "red circle"), so a
rule verifier can check responses and a tiny model can learn the task in minutes on a CPU.

Splits, each a pure function of (seed, split, index) and so disjoint draws: `warmup` (what the
demo's warm-up SFT learns from), `train` (the IPA seeds), `validation` (for choosing settings) and
`heldout` (the test split a run reports). Writes `<split>.jsonl` (evaluation splits' rows also
carry question/answer/metric, so they are benchmarks) and `images/*.png`; the folder is built
atomically and only once per settings.

CLI: python -m ipa_worker.data.synthetic_task OUT_DIR --train N --heldout M [--warmup W] [--validation V] --seed S [--image-size PX]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..contract import recipe_defaults
from ..seeding import stable_seed
from .dirbuild import build_dir_atomically, read_marker

# The recipe's data.synthetic defaults, for callers (and the CLI) that leave sizes out.
_RECIPE = recipe_defaults()["data"]["synthetic"]

FORMAT_VERSION = 2

SPLITS = ("warmup", "train", "validation", "heldout")
EVAL_SPLITS = ("validation", "heldout")

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (35, 160, 60),
    "blue": (40, 75, 215),
    "yellow": (235, 200, 25),
    "purple": (135, 50, 165),
}
SHAPES = ("circle", "square", "triangle")
TEXTS = ("A", "B", "E", "H", "K", "X", "7", "OK")
SIDES = ("left", "right")
COUNTS = (1, 2, 3, 4)
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}

TASK_TYPES = ("colour", "shape", "count", "text", "position", "describe")

# Several phrasings per task, so the model has to read the instruction, not just its length.
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "colour": (
        "What colour is the {shape}?",
        "What colour is the shape in the image? Answer with one word.",
        "Which colour does the {shape} have?",
    ),
    "shape": (
        "What shape is shown in the image?",
        "Which shape is drawn? Answer with one word.",
        "Name the {colour} shape.",
    ),
    "count": (
        "How many shapes are there?",
        "Count the shapes in the image. Answer with a number.",
        "How many shapes can you see?",
    ),
    "text": (
        "What text is printed in the image?",
        "Read the text in the image.",
        "Which characters are written in the picture?",
    ),
    "position": (
        "Is the {shape} on the left or on the right?",
        "On which side is the {colour} {shape}: left or right?",
        "Is the shape in the left half or the right half of the image?",
    ),
    "describe": (
        "Describe the shape in at most three words.",
        "Answer in at most three words: what is in the image?",
        "Give the colour and the name of the shape, in at most three words.",
    ),
}


def _background(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randint(225, 255) for _ in range(3))  # type: ignore[return-value]


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float], fill) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)


def _box(cx: float, cy: float, size: float) -> tuple[float, float, float, float]:
    h = size / 2
    return (cx - h, cy - h, cx + h, cy + h)


def _make_item(task: str, size: int, rng: random.Random) -> tuple[Image.Image, str, str]:
    """One (image, instruction, reference) of the given task type."""
    img = Image.new("RGB", (size, size), _background(rng))
    draw = ImageDraw.Draw(img)
    colour = rng.choice(list(COLOURS))
    shape = rng.choice(SHAPES)
    template = rng.choice(INSTRUCTIONS[task])
    jitter = size * 0.06

    if task in ("colour", "shape", "describe"):
        side = size * rng.uniform(0.55, 0.7)
        cx = size / 2 + rng.uniform(-jitter, jitter)
        cy = size / 2 + rng.uniform(-jitter, jitter)
        _draw_shape(draw, shape, _box(cx, cy, side), COLOURS[colour])
        reference = {"colour": colour, "shape": shape, "describe": f"{colour} {shape}"}[task]
    elif task == "count":
        n = rng.choice(COUNTS)
        cells = rng.sample([(0, 0), (1, 0), (0, 1), (1, 1)], n)  # one shape per quadrant: no overlap
        for qx, qy in cells:
            side = size * rng.uniform(0.26, 0.34)
            cx = size * (0.25 + 0.5 * qx) + rng.uniform(-jitter / 2, jitter / 2)
            cy = size * (0.25 + 0.5 * qy) + rng.uniform(-jitter / 2, jitter / 2)
            _draw_shape(draw, rng.choice(SHAPES), _box(cx, cy, side), COLOURS[rng.choice(list(COLOURS))])
        reference = str(n)
    elif task == "text":
        text = rng.choice(TEXTS)
        font = ImageFont.load_default(size=max(8, int(size * (0.62 if len(text) == 1 else 0.45))))
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        ox = (size - (x1 - x0)) / 2 - x0 + rng.uniform(-jitter / 2, jitter / 2)
        oy = (size - (y1 - y0)) / 2 - y0 + rng.uniform(-jitter / 2, jitter / 2)
        draw.text((ox, oy), text, fill=(10, 10, 10), font=font)
        reference = text
    elif task == "position":
        where = rng.choice(SIDES)
        side = size * rng.uniform(0.34, 0.42)
        cx = size * (0.25 if where == "left" else 0.75) + rng.uniform(-jitter / 2, jitter / 2)
        cy = size / 2 + rng.uniform(-size * 0.2, size * 0.2)
        _draw_shape(draw, shape, _box(cx, cy, side), COLOURS[colour])
        reference = where
    else:
        raise ValueError(f"unknown task type {task!r}")
    return img, template.format(colour=colour, shape=shape), reference


def make_rows(split: str, n: int, seed: int, image_size: int) -> Iterator[tuple[dict[str, Any], Image.Image]]:
    """Rows of one split; item i depends only on (seed, split, i), so growing a split keeps its prefix."""
    for i in range(n):
        rng = random.Random(stable_seed("synthetic", seed, split, i))
        task = TASK_TYPES[i % len(TASK_TYPES)]  # balanced task mix
        img, instruction, reference = _make_item(task, image_size, rng)
        row_id = f"synth-{split}-{i:05d}"
        row: dict[str, Any] = {
            "id": row_id,
            "images": [f"images/{row_id}.png"],
            "instruction": instruction,
            "reference": reference,
            "task_type": task,
        }
        if split in EVAL_SPLITS:
            row.update(question=instruction, answer=reference, metric="exact")
        yield row, img


def _marker(sizes: dict[str, int], seed: int, image_size: int) -> dict[str, Any]:
    return {"kind": "synthetic", "version": FORMAT_VERSION, **sizes, "seed": seed, "image_size": image_size}


def generate_synthetic(
    out_dir: str,
    *,
    train: int,
    heldout: int,
    warmup: int = 0,
    validation: int = 0,
    seed: int = _RECIPE["seed"],
    image_size: int = _RECIPE["image_size"],
) -> dict[str, str]:
    """Generate the data set into `out_dir` (once); returns `{"dir", <split>: path}` for every split."""
    sizes = {"warmup": int(warmup), "train": int(train), "validation": int(validation), "heldout": int(heldout)}
    marker = _marker(sizes, seed, image_size)

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        for split in SPLITS:
            lines = []
            for row, img in make_rows(split, sizes[split], seed, image_size):
                img.save(tmp / row["images"][0], format="PNG")
                lines.append(json.dumps(row, sort_keys=True))
            (tmp / f"{split}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    # Other settings in the same folder are stale: rebuild rather than silently reuse them.
    target = build_dir_atomically(out_dir, build, lambda p: read_marker(p) == marker, marker)
    return {"dir": str(target), **{split: str(target / f"{split}.jsonl") for split in SPLITS}}


def corpus_lines() -> Iterator[str]:
    """Every instruction phrasing with every filler, and every answer: the tokenizer's training text."""
    for templates in INSTRUCTIONS.values():
        for template in templates:
            for colour in COLOURS:
                for shape in SHAPES:
                    yield template.format(colour=colour, shape=shape)
    yield from COLOURS
    yield from SHAPES
    yield from TEXTS
    yield from SIDES
    yield from (str(n) for n in COUNTS)
    yield from NUMBER_WORDS.values()
    yield from (f"{c} {s}" for c in COLOURS for s in SHAPES)
    yield from (f"The {s} is {c}." for c in COLOURS for s in SHAPES)
    yield from (f"There are {n} shapes." for n in COUNTS)
    yield from (f"The text is {t}." for t in TEXTS)
    yield from (f"The shape is on the {side}." for side in SIDES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ipa_worker.data.synthetic_task", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=_RECIPE["train_size"])
    parser.add_argument("--heldout", type=int, default=_RECIPE["heldout_size"])
    parser.add_argument("--warmup", type=int, default=_RECIPE["warmup_size"])
    parser.add_argument("--validation", type=int, default=_RECIPE["validation_size"])
    parser.add_argument("--seed", type=int, default=_RECIPE["seed"])
    parser.add_argument("--image-size", type=int, default=_RECIPE["image_size"])
    args = parser.parse_args(argv)
    paths = generate_synthetic(
        args.out_dir,
        train=args.train,
        heldout=args.heldout,
        warmup=args.warmup,
        validation=args.validation,
        seed=args.seed,
        image_size=args.image_size,
    )
    print(json.dumps(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
