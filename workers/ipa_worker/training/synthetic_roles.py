"""Warm-up examples that teach a model all three IPA roles on the synthetic task.

The synthetic task knows its ground truth, so besides answers it can write what a good verifier
and a good reviser would say, in the exact prompt templates the stages use:

- answer: (V, I) → r_ref;
- verify: (V, verifier prompt with I, r_ref and a response) → the four checks and the verdict,
  judged from the task's structure for responses that are right, wrong (another value of the
  asked category), partly right (one half of a "colour shape" answer), too long (the answer plus
  a word) or no answer at all; a share of them show a swapped reference (another value of the
  asked kind) and are judged against it, so that the verdict depends on the reference and not on
  the image alone;
- revise: (V, feedback prompt with I and a failed response) → feedback that names the error
  without giving the answer, then (V, refine prompt with that feedback) → r_ref; in
  reference-guided form the feedback prompt also shows r_ref and the feedback may name it.

Everything is a pure function of the rows and an rng, so a warm-up is reproducible.
"""

from __future__ import annotations

import random
from typing import Any

from ..data.role_formats import CATEGORY_NAME, CHECK_LINES
from ..data.synthetic_task import COLOURS, COUNTS, SHAPES, SIDES, TEXTS
from ..method.reviser import Templates, feedback_prompt, refine_prompt
from ..method.verifier import CHECKS, normalize_tokens, verifier_prompt
from ..models.messages import prompt_completion

# The value vocabulary of each task type's answer (describe answers are "<colour> <shape>").
CATEGORY_VALUES: dict[str, list[str]] = {
    "colour": list(COLOURS),
    "shape": list(SHAPES),
    "count": [str(n) for n in COUNTS],
    "text": list(TEXTS),
    "position": list(SIDES),
}

# How a response can go wrong, by task type; weights favour the errors the generator really makes.
ERRORS = ("wrong", "wrong", "partial", "long", "none")


def _norm(text: str) -> list[str]:
    return normalize_tokens(text)


def _values(task: str) -> set[str]:
    """Normalised tokens that are answers of this task type (a describe answer mixes two kinds)."""
    raw = CATEGORY_VALUES["colour"] + CATEGORY_VALUES["shape"] if task == "describe" else CATEGORY_VALUES[task]
    return {t for v in raw for t in _norm(v)}


def ground_truth_checks(task: str, reference: str, response: str) -> dict[str, bool]:
    """The four checks of `response` against `reference`, from the task's structure.

    entailed: every word of the reference is in the response; complete: likewise (answers are one
    fact, or two for describe); no_contradiction: no other value of the asked kind is named;
    instruction_followed: the response has exactly the asked form (as many words as the reference,
    colour before shape). All four hold exactly when the normalised response equals the reference.
    """
    ref, resp = _norm(reference), _norm(response)
    entailed = bool(ref) and all(t in resp for t in ref)
    contradiction = any(t in _values(task) and t not in ref for t in resp)
    form = len(resp) == len(ref)
    if task == "describe" and form and len(resp) == 2:
        form = resp[0] in COLOURS and resp[1] in SHAPES
    return {
        "entailed": entailed,
        "complete": entailed,
        "no_contradiction": not contradiction,
        "instruction_followed": form and bool(resp),
    }


def checks_text(checks: dict[str, bool]) -> str:
    """The verifier's answer: one line per check, then the verdict (1 only if all four hold)."""
    lines = [f"{name}: {'yes' if checks[key] else 'no'}" for name, key in zip(CHECK_LINES, CHECKS)]
    return "\n".join(lines + [f"VERDICT: {int(all(checks.values()))}"])


def wrong_response(task: str, reference: str, rng: random.Random) -> tuple[str, str]:
    """(error kind, a response of that kind) for an item; kinds follow ERRORS' weights."""
    kind = rng.choice(ERRORS)
    if task == "describe":
        colour, shape = reference.split()
        if kind == "partial":
            return kind, rng.choice([colour, shape])
        if kind == "long":
            return kind, f"{colour} {shape} {rng.choice(['shape', 'image'])}"
        if kind == "none":
            return kind, rng.choice(["", "shape", "the"])
        if rng.random() < 0.5:
            return "wrong", f"{rng.choice([c for c in COLOURS if c != colour])} {shape}"
        return "wrong", f"{colour} {rng.choice([s for s in SHAPES if s != shape])}"
    values = CATEGORY_VALUES[task]
    if kind == "long":
        extra = {"colour": rng.choice(SHAPES), "count": "shapes", "position": "side"}.get(task, reference)
        return kind, f"{reference} {extra}"
    if kind == "none":
        return kind, rng.choice(["", "shape", "the"])
    return "wrong", rng.choice([v for v in values if v != reference])  # "partial" has no meaning here


def verify_case(task: str, reference: str, *, swapped: bool, rng: random.Random) -> tuple[str, str]:
    """(the reference the verifier prompt shows, the response to judge) for one verifier example.

    Plain: the item's reference and a response that is right 40 % of the time. Swapped: another
    value of the asked kind as the reference, and a response that matches it (40 %), is the item's
    true answer (30 %: right by the image, wrong by the reference) or is wrong against both.
    Swapped examples make the verdict depend on the reference: on plain ones the image alone
    predicts it, and a tiny model then judges by what it sees (measured: 49 % agreement with the
    ground truth on its own samples without them, 86 % with them; README, `make demo`).
    """
    if not swapped:
        return reference, reference if rng.random() < 0.4 else wrong_response(task, reference, rng)[1]
    shown = swap_reference(task, reference, rng)
    roll = rng.random()
    if roll < 0.4:
        return shown, shown
    if roll < 0.7:
        return shown, reference
    return shown, wrong_response(task, shown, rng)[1]


def swap_reference(task: str, reference: str, rng: random.Random) -> str:
    """Another well-formed answer of the same kind (for describe, one of its two words changed)."""
    while True:
        kind, other = wrong_response(task, reference, rng)
        if kind == "wrong":
            return other


def feedback_text(task: str, reference: str, response: str, guided: bool) -> str:
    """Feedback naming the error; without the reference it never states the right answer."""
    what = CATEGORY_NAME[task]
    checks = ground_truth_checks(task, reference, response)
    resp = _norm(response)
    if all(checks.values()):
        return "Correct."
    if not resp or not any(t in _values(task) for t in resp):
        return f"Not an answer: it is {reference}." if guided else f"Not an answer: give the {what}."
    if not checks["no_contradiction"]:
        wrong = [t for t in resp if t in _values(task) and t not in _norm(reference)]
        return f"Wrong {what}: it is {reference}." if guided else f"Wrong {what}: not {' '.join(wrong)}."
    if not checks["entailed"]:
        return f"Incomplete: it is {reference}." if guided else f"Incomplete: give the {what}."
    return f"Too long: answer {reference}." if guided else f"Too long: give only the {what}."


def role_examples(
    rows: list[dict[str, Any]],
    *,
    verifier_template: str,
    templates: Templates,
    answer: int,
    verify: int,
    revise: int,
    rng: random.Random,
    swapped_references: float = 0.0,
) -> list[dict[str, Any]]:
    """SFT examples `{images, prompt, completion}` for each row: `answer` answer examples, `verify`
    verifier examples (about 40 % on right responses; a `swapped_references` share of them against
    a swapped reference, see `verify_case`) and `revise` reviser units (a feedback example and its
    refinement, reference-guided every other time), shuffled."""
    out: list[dict[str, Any]] = []
    for row in rows:
        images, instruction, reference, task = (
            list(row["images"]),
            row["instruction"],
            row["reference"],
            row["task_type"],
        )

        def add(text: str, completion: str, images: list = images) -> None:
            out.append(prompt_completion(images, text, completion))

        for _ in range(answer):
            add(instruction, reference)
        for _ in range(verify):
            shown, response = verify_case(task, reference, swapped=rng.random() < swapped_references, rng=rng)
            add(
                verifier_prompt(verifier_template, instruction, response, shown),
                checks_text(ground_truth_checks(task, shown, response)),
            )
        for k in range(revise):
            guided = k % 2 == 1
            response = wrong_response(task, reference, rng)[1]
            feedback = feedback_text(task, reference, response, guided)
            add(feedback_prompt(templates, instruction, response, reference if guided else None), feedback)
            add(refine_prompt(templates, instruction, response, feedback), reference)
    rng.shuffle(out)
    return out
