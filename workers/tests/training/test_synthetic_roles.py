"""The warm-up's role examples: ground-truth checks, wrong responses, feedback, templates used."""

import json
import random

import pytest
from ipa_worker.data.synthetic_task import make_rows
from ipa_worker.method.reviser import Templates
from ipa_worker.method.verifier import parse_verdict, rule_verify
from ipa_worker.prompts import load_template
from ipa_worker.training.synthetic_roles import (
    checks_text,
    feedback_text,
    ground_truth_checks,
    role_examples,
    verify_case,
    wrong_response,
)

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
        (
            "colour",
            "red",
            "green",
            dict(entailed=False, complete=False, no_contradiction=False, instruction_followed=True),
        ),
        (
            "colour",
            "red",
            "red circle",
            dict(entailed=True, complete=True, no_contradiction=True, instruction_followed=False),
        ),
        (
            "describe",
            "red circle",
            "red",
            dict(entailed=False, complete=False, no_contradiction=True, instruction_followed=False),
        ),
        (
            "describe",
            "red circle",
            "circle red",
            dict(entailed=True, complete=True, no_contradiction=True, instruction_followed=False),
        ),
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
    ex = role_examples(
        ROWS[:10], verifier_template=verifier, templates=templates, answer=1, verify=3, revise=2, rng=random.Random(0)
    )
    assert len(ex) == 10 * (1 + 3 + 2 * 2)
    texts = [e["prompt"][0]["content"][-1]["text"] for e in ex]
    head = verifier.split("{")[0]
    assert sum(t.startswith(head) for t in texts) == 30
    assert (
        sum("Reference answer:" in t and t.startswith(templates.feedback_reference.split("{")[0]) for t in texts) == 10
    )  # guided feedback
    assert all(e["images"] == ROWS[0]["images"] or e["images"] in [r["images"] for r in ROWS[:10]] for e in ex)
    again = role_examples(
        ROWS[:10], verifier_template=verifier, templates=templates, answer=1, verify=3, revise=2, rng=random.Random(0)
    )
    assert again == ex  # a pure function of the rows and the rng


def test_swapped_references_make_the_verdict_depend_on_the_reference():
    """A swapped case shows another value of the asked kind and is judged against it, so the
    item's true answer (what the image shows) is sometimes judged wrong: the image alone no longer
    predicts the verdict, the reference must be read."""
    rng = random.Random(3)
    truth_judged_wrong = matches_judged_right = 0
    for row in ROWS:
        ref, task = row["reference"], row["task_type"]
        for _ in range(10):
            shown, resp = verify_case(task, ref, swapped=True, rng=rng)
            assert shown != ref and len(shown.split()) == len(ref.split()), (ref, shown)
            verdict = all(ground_truth_checks(task, shown, resp).values())
            truth_judged_wrong += resp == ref and not verdict
            matches_judged_right += resp == shown and verdict
        assert verify_case(task, ref, swapped=False, rng=rng)[0] == ref
    assert truth_judged_wrong > 100 and matches_judged_right > 150


def _shown_references(examples, marker):
    """(image, the reference a verifier prompt shows) for each verifier example."""
    out = []
    for e in examples:
        text = e["prompt"][0]["content"][-1]["text"]
        if marker in text:
            out.append((e["images"][0], text.split(marker)[1].split("\n")[0]))
    return out


def test_role_examples_swap_the_share_of_verifier_references_they_are_asked_to():
    truth = {row["images"][0]: row["reference"] for row in ROWS}
    assert len(truth) == len(ROWS)

    def swapped_share(share: float) -> float:
        ex = role_examples(
            ROWS,
            verifier_template="Q: {instruction}\nRef: {reference}\nResp: {response}",
            templates=Templates({}),
            answer=0,
            verify=4,
            revise=0,
            rng=random.Random(1),
            swapped_references=share,
        )
        shown = _shown_references(ex, "\nRef: ")
        assert len(shown) == len(ex) == 4 * len(ROWS)
        return sum(ref != truth[img] for img, ref in shown) / len(shown)

    assert swapped_share(0.0) == 0.0
    assert swapped_share(1.0) == 1.0
    assert 0.2 < swapped_share(0.33) < 0.46


def test_the_warm_up_stage_reads_swapped_references_from_the_recipe(tmp_path):
    from ipa_worker.contract import recipe_defaults
    from ipa_worker.stages.sft import warmup_examples

    recipe = recipe_defaults()
    recipe["seed"] = 7
    recipe["data"]["synthetic"].update(
        enabled=True, output_dir=str(tmp_path / "syn"), warmup_size=24, train_size=4, validation_size=0, heldout_size=4
    )
    recipe["warmup"]["sft"].update(
        data="synthetic_warmup",
        roles={**recipe["warmup"]["sft"]["roles"], "answer": 0, "verify": 3, "revise": 0, "swapped_references": 1.0},
    )
    recipe["verifier"]["template"] = None
    examples, counts = warmup_examples(recipe, str(tmp_path), str(tmp_path / "unused.jsonl"))
    rows = [json.loads(line) for line in open(tmp_path / "syn" / "warmup.jsonl")]
    refs = {str(tmp_path / "syn" / r["images"][0]): r["reference"] for r in rows}
    shown = _shown_references(examples, "Reference answer: ")
    assert counts["verify"] == 72 and len(shown) == 72
    assert all(ref != refs[img] for img, ref in shown)
