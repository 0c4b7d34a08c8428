"""The premise task's example responses and feedback, as the checker knows them (no prompts).

Responses of each kind for an item (compliant, terse, factually wrong, form-broken), the verifier
cases (`verify_case`: the shown reference's facts and a response), the feedback that names a broken
requirement or a wrong fact (reference-guided feedback may state a fact, never the formatted
answer), the verifier gate's labelled audit rows, and the feedback phrases for the tiny model's
tokenizer. The warm-up's role examples (training/premise_roles.py) put these into the roles'
prompts. Pure functions of the rows and an rng, so a warm-up is reproducible.
"""

from __future__ import annotations

import random
from typing import Any

from .premise_task import ATTRS, NUMBER_NAMES, VALUES, ideal_answer, reference_of
from .premise_truth import checks, complies, stated

# Kinds of verifier example responses and their weights (right and compliant about a third).
RESPONSE_KINDS = ("ideal", "ideal", "ideal", "terse", "terse", "wrong_ideal", "wrong_terse", "broken", "broken")
FAILED_KINDS = ("terse", "terse", "broken", "wrong_ideal", "wrong_terse")


def _changed(facts: dict[str, str], rng: random.Random, attrs: list[str] | tuple[str, ...] = ATTRS) -> dict[str, str]:
    """The facts with one attribute (of `attrs`) set to another value."""
    a = rng.choice(list(attrs))
    return {**facts, a: rng.choice([v for v in VALUES[a] if v != facts[a]])}


def broken_answer(spec: dict[str, Any], facts: dict[str, str], rng: random.Random) -> str:
    """The right facts in a form that breaks the family's requirement (a near miss)."""
    ideal = ideal_answer(spec, facts)
    family, asked = spec["family"], spec["asked"]
    if family == "sentence":
        return rng.choice(
            [ideal.rstrip("."), ideal[0].lower() + ideal[1:], f"{' '.join(facts[a] for a in asked).capitalize()}."]
        )
    if family == "one_word":
        return rng.choice(
            [
                f"It is {facts[asked[0]]}.",
                f"{facts[asked[0]]} {facts['shape'] if asked[0] != 'shape' else facts['colour']}",
            ]
        )
    if family == "json":
        keys = spec["keys"]
        # not JSON at all, or an object that leaves out the last key
        return rng.choice(
            [
                ", ".join(f"{k}: {facts[k]}" for k in keys),
                "{" + ", ".join(f'"{k}": "{facts[k]}"' for k in keys[:-1]) + "}",
            ]
        )
    if family == "omit":  # the omitted attribute mentioned
        if asked == ["shape"]:
            return f"It is a {facts['colour']} {facts['shape']}."
        subject = facts["shape"] if spec["omit"] == "shape" else f"{facts['colour']} shape"
        return f"The {subject} is on the {facts['side']}."
    if family == "order":
        return rng.choice([" ".join(facts[a] for a in spec["order"]), ", ".join(facts[a] for a in ATTRS)])
    if family == "length":
        others = [n for n in NUMBER_NAMES if n != spec["words"]]
        return ideal_answer({**spec, "words": rng.choice(others)}, facts)
    return f"The {facts['shape']} is {facts['colour']} and on the {facts['side']}."


def response_of(kind: str, spec: dict[str, Any], facts: dict[str, str], rng: random.Random) -> str:
    """A response of one kind for an item whose true facts are `facts`."""
    if kind == "ideal":
        return ideal_answer(spec, facts)
    if kind == "terse":
        return reference_of(facts)
    if kind == "wrong_ideal":
        return ideal_answer(spec, _changed(facts, rng, spec["asked"]))
    if kind == "wrong_terse":
        return reference_of(_changed(facts, rng))
    if kind == "broken":
        return broken_answer(spec, facts, rng)
    raise ValueError(f"unknown response kind {kind!r}")


def verify_case(spec: dict[str, Any], *, swapped: bool, rng: random.Random) -> tuple[dict[str, str], str]:
    """(the facts the shown reference states, the response to judge) for one verifier example.

    Plain: the true facts and a response of a RESPONSE_KINDS kind. Swapped: the facts with one
    asked attribute changed, and a response that fits them (40 %), is right by the image and
    compliant (40 %: wrong by the reference) or is terse by the image."""
    facts = spec["facts"]
    if not swapped:
        return facts, response_of(rng.choice(RESPONSE_KINDS), spec, facts, rng)
    shown = _changed(facts, rng, spec["asked"])
    roll = rng.random()
    if roll < 0.4:
        return shown, ideal_answer(spec, shown)
    if roll < 0.8:
        return shown, ideal_answer(spec, facts)
    return shown, reference_of(facts)


def requirement_feedback(spec: dict[str, Any], response: str) -> str | None:
    """What breaks the requirement, naming it and how to meet it (never a value), or None."""
    if complies(spec, response):
        return None
    family, text = spec["family"], response.strip()
    if family == "sentence":
        if not text[:1].isupper():
            return "Not a full sentence: start with a capital letter."
        if not text.endswith(".") or text.count(".") != 1:
            return "Not a full sentence: end with a period."
        return "Not a full sentence: name the shape."
    if family == "one_word":
        return f"Not one word: give only the {spec['asked'][0]}."
    if family == "json":
        return f"Not JSON: use keys {', '.join(spec['keys'])}."
    if family == "omit":
        return f"Mentions the {spec['omit']}: leave it out."
    if family == "order":
        return f"Wrong order: {', '.join(spec['order'])}."
    if family == "length":
        n = NUMBER_NAMES[int(spec["words"])]
        return f"Not {n} words: use exactly {n}."
    return "Wrong form: give colour shape, side."


def fact_feedback(spec: dict[str, Any], facts: dict[str, str], response: str, guided: bool) -> str | None:
    """The first wrong or missing fact; unguided it never states the right value."""
    said = stated(response)
    for a in ATTRS:
        wrong = sorted(said[a] - {facts[a]})
        if wrong:
            return f"Wrong {a}: the {a} is {facts[a]}." if guided else f"Wrong {a}: not {wrong[0]}."
    for a in spec["asked"]:
        if not said[a]:
            return f"Missing {a}: the {a} is {facts[a]}." if guided else f"Missing {a}: give the {a}."
    return None


def feedback_text(spec: dict[str, Any], response: str, guided: bool) -> str:
    """Feedback on a response: the first fact problem, then the broken requirement; "Correct." if none."""
    parts = [
        p for p in (fact_feedback(spec, spec["facts"], response, guided), requirement_feedback(spec, response)) if p
    ]
    return " ".join(parts) or "Correct."


def failed_response(spec: dict[str, Any], rng: random.Random) -> str:
    """A response that fails the item (terse, form-broken or factually wrong)."""
    while True:
        response = response_of(rng.choice(FAILED_KINDS), spec, spec["facts"], rng)
        if not all(checks(spec, response).values()):
            return response


def audit_rows(rows: list[dict[str, Any]], rng: random.Random, swapped: float = 0.33) -> list[dict[str, Any]]:
    """The labelled audit set of the verifier gate: one verifier case per row, labelled by the checker."""
    out = []
    for row in rows:
        spec = row["spec"]
        shown, response = verify_case(spec, swapped=rng.random() < swapped, rng=rng)
        c = checks(spec, response, shown)
        out.append(
            {
                "id": row["id"],
                "images": row["images"],
                "instruction": row["instruction"],
                "reference": reference_of(shown),
                "response": response,
                "label": int(all(c.values())),
                "checks": c,
            }
        )
    return out


def role_corpus() -> list[str]:
    """The feedback phrases, for the tiny model's tokenizer."""
    lines = [
        "Correct.",
        "Not a full sentence: start with a capital letter.",
        "Not a full sentence: end with a period.",
        "Not a full sentence: name the shape.",
    ]
    for a in ATTRS:
        lines += [
            f"Not one word: give only the {a}.",
            f"Mentions the {a}: leave it out.",
            f"Wrong {a}: not",
            f"Wrong {a}: the {a} is",
            f"Missing {a}: give the {a}.",
            f"Missing {a}: the {a} is",
        ]
    lines += [f"Not {n} words: use exactly {n}." for n in NUMBER_NAMES.values()]
    lines += [
        "Not JSON: use keys colour, shape.",
        "Wrong order: side, shape, colour.",
        "Wrong form: give colour shape, side.",
    ]
    return lines
