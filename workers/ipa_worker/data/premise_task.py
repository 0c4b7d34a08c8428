"""The premise task: terse fact references, instructions that ask for a form (`data.synthetic.task: premise`).

IPA's premise is that seed references state facts tersely while instructions ask for a form, so
supervised learning on the references teaches a model to ignore the form. This task makes that
the whole difficulty: perception is easy (one large object, 3 colours × 3 shapes, left or right
half, light background jitter) and the reference is the same terse line whatever the
instruction (`red circle, left`), while the instruction is a question (which facts) plus one
requirement (what form) from a family:

| family   | example instruction                                          | compliant answer                        |
|----------|--------------------------------------------------------------|-----------------------------------------|
| sentence | What colour is the shape? Answer in one full sentence.       | The circle is red.                      |
| one_word | Which side is the shape on? One word only.                   | left                                    |
| json     | Give colour and shape as JSON with keys colour, shape.       | {"colour": "red", "shape": "circle"}    |
| omit     | Name the shape without mentioning its colour.                | It is a circle.                         |
| order    | List side, shape and colour, in that order, separated by commas. | left, circle, red                   |
| length   | Describe it in exactly five words.                            | red circle on the left                  |
| control  | Give colour, shape and side.                                  | red circle, left (= the reference)      |

Only control items are answered compliantly by the reference. Each row of the task's files
carries `spec` (the scene and the requirement: the programmatic ground truth, `premise_truth`);
seed rows drop it (`data.seed_rows` keeps only the seed fields), so no stage sees it: the audit
and the evaluation read it back from these files by row id.

Splits as in `synthetic_task` (warmup, train, validation, heldout, each a pure function of
(seed, split, index)), plus `audit`: a small labelled set for the verifier gate
(`verifier.gate`), rows `{id, images, instruction, reference, response, label, checks}`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from ..seeding import stable_seed
from .dirbuild import build_dir_atomically, read_marker

FORMAT_VERSION = 1

SPLITS = ("warmup", "train", "validation", "heldout", "audit")
EVAL_SPLITS = ("validation", "heldout")

COLOURS: dict[str, tuple[int, int, int]] = {"red": (215, 35, 35), "green": (35, 160, 60), "blue": (40, 75, 215)}
SHAPES = ("circle", "square", "triangle")
SIDES = ("left", "right")
ATTRS = ("colour", "shape", "side")
VALUES: dict[str, tuple[str, ...]] = {"colour": tuple(COLOURS), "shape": SHAPES, "side": SIDES}
FAMILIES = ("sentence", "one_word", "json", "omit", "order", "length", "control")
NUMBER_NAMES = {4: "four", 5: "five", 6: "six"}

# Questions by the attributes they ask about (several phrasings: the model must read them).
QUESTIONS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("colour",): ("What colour is the shape?", "Which colour does the shape have?"),
    ("shape",): ("What shape is it?", "Which shape is shown?"),
    ("side",): ("Which side is the shape on?", "Is the shape on the left or the right?"),
    ("colour", "shape"): ("What colour and shape is it?", "Name the colour and the shape."),
}


def reference_of(facts: dict[str, str]) -> str:
    """The terse reference, one form whatever the instruction: `red circle, left`."""
    return f"{facts['colour']} {facts['shape']}, {facts['side']}"


def facts_of_reference(reference: str) -> dict[str, str] | None:
    """The facts a terse reference states, or None when it is not one (`red circle, left`)."""
    words = [w for w in reference.replace(",", " ").lower().split()]
    if len(words) != 3 or any(w not in VALUES[a] for w, a in zip(words, ATTRS)):
        return None
    return dict(zip(ATTRS, words))


def _spec(family: str, rng: random.Random) -> dict[str, Any]:
    """The requirement of one item: family, asked attributes and the family's parameter."""
    if family == "sentence":
        return {"family": family, "asked": list(rng.choice([("colour",), ("shape",), ("side",), ("colour", "shape")]))}
    if family == "one_word":
        return {"family": family, "asked": [rng.choice(ATTRS)]}
    if family == "json":
        keys = rng.choice([("colour", "shape"), ("colour", "side"), ("shape", "side"), ATTRS])
        return {"family": family, "asked": list(keys), "keys": list(keys)}
    if family == "omit":
        asked, omit = rng.choice([("shape", "colour"), ("side", "colour"), ("side", "shape")])
        return {"family": family, "asked": [asked], "omit": omit}
    if family == "order":
        orders = [
            o for o in ([a, b, c] for a in ATTRS for b in ATTRS for c in ATTRS) if len(set(o)) == 3 and o != list(ATTRS)
        ]
        order = rng.choice(orders)
        return {"family": family, "asked": list(ATTRS), "order": order}
    if family == "length":
        return {"family": family, "asked": list(ATTRS), "words": rng.choice(sorted(NUMBER_NAMES))}
    if family == "control":
        return {"family": family, "asked": list(ATTRS)}
    raise ValueError(f"unknown family {family!r}")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def instruction_of(spec: dict[str, Any], rng: random.Random) -> str:
    """The instruction text: a question (which facts) plus the requirement (what form)."""
    family, asked = spec["family"], spec["asked"]
    if family == "sentence":
        return f"{rng.choice(QUESTIONS[tuple(asked)])} {rng.choice(['Answer in one full sentence.', 'Reply with a full sentence.'])}"
    if family == "one_word":
        return f"{rng.choice(QUESTIONS[tuple(asked)])} {rng.choice(['One word only.', 'Answer with one word.'])}"
    if family == "json":
        keys = spec["keys"]
        return f"Give {_and(keys)} as JSON with keys {', '.join(keys)}."
    if family == "omit":
        what = {"shape": "Name the shape", "side": "Say which side the shape is on"}[asked[0]]
        return rng.choice(
            [f"{what} without mentioning its {spec['omit']}.", f"{what}. Do not mention its {spec['omit']}."]
        )
    if family == "order":
        return f"List {_and(spec['order'])}, in that order, separated by commas."
    if family == "length":
        return f"Describe the shape in exactly {NUMBER_NAMES[spec['words']]} words."
    return rng.choice(["Give colour, shape and side.", "Describe the shape: colour, shape and side."])


def ideal_answer(spec: dict[str, Any], facts: dict[str, str]) -> str:
    """The checker-made compliant answer (the oracle baseline's target, the refinements' form)."""
    family, asked = spec["family"], spec["asked"]
    c, s, d = facts["colour"], facts["shape"], facts["side"]
    if family == "sentence":
        return {
            ("colour",): f"The {s} is {c}.",
            ("shape",): f"The shape is a {s}.",
            ("side",): f"The {s} is on the {d}.",
            ("colour", "shape"): f"The shape is a {c} {s}.",
        }[tuple(asked)]
    if family == "one_word":
        return facts[asked[0]]
    if family == "json":
        return json.dumps({k: facts[k] for k in spec["keys"]})
    if family == "omit":
        return f"It is a {s}." if asked == ["shape"] else f"It is on the {d}."
    if family == "order":
        return ", ".join(facts[a] for a in spec["order"])
    if family == "length":
        return {4: f"a {c} {s}, {d}", 5: f"{c} {s} on the {d}", 6: f"a {c} {s} on the {d}"}[spec["words"]]
    return reference_of(facts)


def _background(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randint(228, 255) for _ in range(3))  # type: ignore[return-value]


def draw_scene(facts: dict[str, str], size: int, rng: random.Random) -> Image.Image:
    """One large object in the left or right half, on a lightly jittered background."""
    img = Image.new("RGB", (size, size), _background(rng))
    draw = ImageDraw.Draw(img)
    side = size * rng.uniform(0.36, 0.44)
    cx = size * (0.25 if facts["side"] == "left" else 0.75) + rng.uniform(-size * 0.03, size * 0.03)
    cy = size / 2 + rng.uniform(-size * 0.15, size * 0.15)
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    fill = COLOURS[facts["colour"]]
    if facts["shape"] == "circle":
        draw.ellipse(box, fill=fill)
    elif facts["shape"] == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([((box[0] + box[2]) / 2, box[1]), (box[2], box[3]), (box[0], box[3])], fill=fill)
    return img


def family_of(index: int, control_share: float, rng: random.Random) -> str:
    """Control items make up `control_share`; the six requirement families share the rest evenly."""
    if rng.random() < control_share:
        return "control"
    return FAMILIES[index % 6]


def make_item(
    split: str, index: int, seed: int, image_size: int, control_share: float
) -> tuple[dict[str, Any], Image.Image]:
    """Row i of a split (a pure function of seed, split and i) and its image."""
    rng = random.Random(stable_seed("premise", seed, split, index))
    facts = {a: rng.choice(VALUES[a]) for a in ATTRS}
    spec = {**_spec(family_of(index, control_share, rng), rng), "facts": facts}
    row_id = f"premise-{split}-{index:05d}"
    row: dict[str, Any] = {
        "id": row_id,
        "images": [f"images/{row_id}.png"],
        "instruction": instruction_of(spec, rng),
        "reference": reference_of(facts),
        "task_type": spec["family"],
        "spec": spec,
    }
    return row, draw_scene(facts, image_size, rng)


def make_rows(
    split: str, n: int, seed: int, image_size: int, control_share: float
) -> Iterator[tuple[dict[str, Any], Image.Image]]:
    for i in range(n):
        row, img = make_item(split, i, seed, image_size, control_share)
        if split in EVAL_SPLITS:
            row.update(question=row["instruction"], answer=row["reference"], metric="premise")
        yield row, img


def generate_premise(
    out_dir: str,
    *,
    train: int,
    heldout: int,
    warmup: int = 0,
    validation: int = 0,
    audit: int = 0,
    seed: int = 0,
    image_size: int = 84,
    control_share: float = 0.15,
) -> dict[str, str]:
    """Generate the task into `out_dir` (once per settings); returns `{"dir", <split>: path}`."""
    from .premise_cases import audit_rows  # the labelled audit rows are verifier cases

    sizes = {
        "warmup": int(warmup),
        "train": int(train),
        "validation": int(validation),
        "heldout": int(heldout),
        "audit": int(audit),
    }
    marker = {
        "kind": "premise",
        "version": FORMAT_VERSION,
        **sizes,
        "seed": seed,
        "image_size": image_size,
        "control_share": control_share,
    }

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        for split in SPLITS:
            rows = []
            for row, img in make_rows(split, sizes[split], seed, image_size, control_share):
                img.save(tmp / row["images"][0], format="PNG")
                rows.append(row)
            if split == "audit":
                rows = audit_rows(rows, random.Random(stable_seed("premise-audit", seed)))
            (tmp / f"{split}.jsonl").write_text(
                "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8"
            )

    target = build_dir_atomically(out_dir, build, lambda p: read_marker(p) == marker, marker)
    return {"dir": str(target), **{split: str(target / f"{split}.jsonl") for split in SPLITS}}


def specs_by_id(path: str) -> dict[str, dict[str, Any]]:
    """Row id → spec of one of the task's files (the ground truth the stages never see)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out[row["id"]] = row["spec"]
    return out


def corpus_lines() -> Iterator[str]:
    """Every instruction, reference and ideal answer form: the tiny model's tokenizer text."""
    rng = random.Random(0)
    facts = [{"colour": c, "shape": s, "side": d} for c in COLOURS for s in SHAPES for d in SIDES]
    for i in range(600):
        spec = {**_spec(FAMILIES[i % len(FAMILIES)], rng), "facts": rng.choice(facts)}
        yield instruction_of(spec, rng)
        yield ideal_answer(spec, spec["facts"])
        yield reference_of(spec["facts"])
