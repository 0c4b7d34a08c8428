"""The warm-up's role examples: ground-truth checks, wrong responses, feedback, templates used."""

import random

import pytest

from ipa_worker.data.synthetic_roles import (
    checks_text,
    feedback_text,
    ground_truth_checks,
    role_examples,
    wrong_response,
)
from ipa_worker.data.synthetic_task import make_rows
from ipa_worker.method.reviser import Templates
from ipa_worker.method.verifier import parse_verdict, rule_verify
from ipa_worker.prompts import load_template

ROWS = [row for row, _ in make_rows("warmup", 60, 0, 28)]


def test_the_four_checks_hold_exactly_when_the_answer_is_right():
    rng = random.Random(0)
    seen_kinds = set()
    for row in ROWS:
        ref, task = row["reference"], row["task_type"]
        assert all(ground_truth_checks(task, ref, ref).values()), row
        for _ in range(10):
            kind, resp = wrong_response(task, ref, rng)
            seen_kinds.add(kind)
            checks = ground_truth_checks(task, ref, resp)
            # all four ⟺ the audit's truth (normalised exact match)
            assert all(checks.values()) == bool(rule_verify(resp, ref, "exact")[0]), (task, ref, resp, checks)
    assert seen_kinds == {"wrong", "partial", "long", "none"}


@pytest.mark.parametrize(
    "task,ref,resp,expected",
    [
        ("colour", "red", "green", dict(entailed=False, complete=False, no_contradiction=False, instruction_followed=True)),
        ("colour", "red", "red circle", dict(entailed=True, complete=True, no_contradiction=True, instruction_followed=False)),
        ("describe", "red circle", "red", dict(entailed=False, complete=False, no_contradiction=True, instruction_followed=False)),
        ("describe", "red circle", "circle red", dict(entailed=True, complete=True, no_contradiction=True, instruction_followed=False)),
        ("count", "3", "three", dict(entailed=True, complete=True, no_contradiction=True, instruction_followed=True)),
    ],
)
def test_checks_of_typical_errors(task, ref, resp, expected):
    assert ground_truth_checks(task, ref, resp) == expected


def test_the_verifier_text_parses_to_the_same_verdict():
    for row in ROWS[:12]:
        for resp in (row["reference"], wrong_response(row["task_type"], row["reference"], random.Random(1))[1]):
            checks = ground_truth_checks(row["task_type"], row["reference"], resp)
            verdict, parsed, _ = parse_verdict(checks_text(checks))
            assert verdict == int(all(checks.values())) and parsed == checks


def test_feedback_names_the_error_and_gives_the_answer_only_when_guided():
    assert feedback_text("colour", "red", "green", guided=False) == "Wrong colour: not green."
    assert feedback_text("colour", "red", "green", guided=True) == "Wrong colour: it is red."
    assert feedback_text("describe", "red circle", "red", guided=False) == "Incomplete: give the colour and shape."
    assert feedback_text("colour", "red", "red circle", guided=False) == "Too long: give only the colour."
    assert feedback_text("count", "3", "", guided=False) == "Not an answer: give the number."
    assert feedback_text("shape", "circle", "circle", guided=False) == "Correct."
    rng = random.Random(2)
    for row in ROWS:
        ref = row["reference"]
        _, resp = wrong_response(row["task_type"], ref, rng)
        unguided = feedback_text(row["task_type"], ref, resp, guided=False)
        if ref.lower() not in resp.lower().split() and len(ref) > 1:
            assert ref.lower() not in unguided.lower().split(), (ref, resp, unguided)


def test_role_examples_use_the_stage_templates_and_counts():
    verifier = load_template("verifier")
    templates = Templates({})
    ex = role_examples(ROWS[:10], verifier_template=verifier, templates=templates, answer=1, verify=3, revise=2, rng=random.Random(0))
    assert len(ex) == 10 * (1 + 3 + 2 * 2)
    texts = [e["prompt"][0]["content"][-1]["text"] for e in ex]
    head = verifier.split("{")[0]
    assert sum(t.startswith(head) for t in texts) == 30
    assert sum("Reference answer:" in t and t.startswith(templates.feedback_reference.split("{")[0]) for t in texts) == 10  # guided feedback
    assert all(e["images"] == ROWS[0]["images"] or e["images"] in [r["images"] for r in ROWS[:10]] for e in ex)
    again = role_examples(ROWS[:10], verifier_template=verifier, templates=templates, answer=1, verify=3, revise=2, rng=random.Random(0))
    assert again == ex  # a pure function of the rows and the rng
