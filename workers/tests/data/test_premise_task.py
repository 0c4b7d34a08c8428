"""The premise task: its items, its programmatic ground truth and its warm-up role examples."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from ipa_worker.data.premise_cases import audit_rows, broken_answer, feedback_text, requirement_feedback, response_of
from ipa_worker.data.premise_task import (
    FAMILIES,
    facts_of_reference,
    generate_premise,
    ideal_answer,
    make_item,
    reference_of,
    specs_by_id,
)
from ipa_worker.data.premise_truth import checks, complies, facts_ok, scores, success, words
from ipa_worker.method.reviser import Templates
from ipa_worker.method.verifier import parse_verdict
from ipa_worker.training.premise_roles import role_examples

FACTS = {"colour": "red", "shape": "circle", "side": "left"}


def spec(family: str, **kw) -> dict:
    asked = kw.pop("asked", ["colour", "shape", "side"])
    return {"family": family, "asked": asked, "facts": FACTS, **kw}


ITEMS = [make_item("train", i, 0, 84, 0.15)[0] for i in range(400)]


def test_every_family_occurs_and_control_is_a_minority():
    counts = Counter(r["spec"]["family"] for r in ITEMS)
    assert set(counts) == set(FAMILIES)
    assert 0.08 < counts["control"] / len(ITEMS) < 0.25


def test_the_reference_is_the_terse_facts_whatever_the_instruction():
    for row in ITEMS:
        assert row["reference"] == reference_of(row["spec"]["facts"])
        assert facts_of_reference(row["reference"]) == row["spec"]["facts"]


def test_the_ideal_answer_succeeds_and_the_reference_complies_only_on_control_items():
    for row in ITEMS:
        s = row["spec"]
        assert scores(s, ideal_answer(s, s["facts"])) == {"facts_ok": True, "complies": True, "success": True}, row[
            "instruction"
        ]
        ref = scores(s, row["reference"])
        assert ref["facts_ok"], row["instruction"]
        assert ref["complies"] == (s["family"] == "control"), row["instruction"]


@pytest.mark.parametrize(
    "family, kw, good, bad",
    [
        (
            "sentence",
            {"asked": ["colour"]},
            ["The circle is red.", "The shape is red."],
            ["the circle is red.", "The circle is red", "Red circle.", "The circle is red. It is left."],
        ),
        ("one_word", {"asked": ["colour"]}, ["red", "Red."], ["red circle", "It is red."]),
        (
            "json",
            {"asked": ["colour", "shape"], "keys": ["colour", "shape"]},
            ['{"colour": "red", "shape": "circle"}', '{"shape": "square", "colour": "blue"}'],
            ['{"colour": "red"}', "colour: red, shape: circle", '{"colour": "red", "shape": "circle", "side": "left"}'],
        ),
        (
            "omit",
            {"asked": ["shape"], "omit": "colour"},
            ["It is a circle.", "circle"],
            ["It is a red circle.", "red circle, left"],
        ),
        (
            "order",
            {"order": ["side", "shape", "colour"]},
            ["left, circle, red", "right, square, blue"],
            ["red, circle, left", "left circle red", "left, circle"],
        ),
        (
            "length",
            {"words": 5},
            ["red circle on the left", "a b c d e"],
            ["red circle, left", "a red circle on the left"],
        ),
        (
            "control",
            {},
            ["red circle, left", "blue square, right"],
            ["The circle is red and on the left.", "left, circle, red"],
        ),
    ],
)
def test_complies_checks_the_form_of_each_family(family, kw, good, bad):
    s = spec(family, **kw)
    assert all(complies(s, t) for t in good), [t for t in good if not complies(s, t)]
    assert not any(complies(s, t) for t in bad), [t for t in bad if complies(s, t)]


def test_facts_ok_needs_every_asked_fact_and_no_contradiction():
    s = spec("sentence", asked=["colour"])
    assert facts_ok(s, "The circle is red.")
    assert not facts_ok(s, "The circle is blue.")  # wrong asked fact
    assert not facts_ok(s, "The square is red.")  # right asked fact, a contradicting other value
    assert not facts_ok(s, "The circle is on the left.")  # the asked fact missing
    j = spec("json", asked=["colour", "shape"], keys=["colour", "shape"])
    assert facts_ok(j, '{"colour": "red", "shape": "circle"}')
    assert not facts_ok(j, '{"colour": "circle", "shape": "red"}')  # keys hold each other's values


def test_the_four_checks_map_onto_facts_and_compliance():
    rng = random.Random(3)
    for row in ITEMS[:200]:
        s = row["spec"]
        for kind in ("ideal", "terse", "wrong_ideal", "wrong_terse", "broken"):
            text = response_of(kind, s, s["facts"], rng)
            c = checks(s, text)
            assert (c["entailed"] and c["no_contradiction"]) == facts_ok(s, text)
            assert c["instruction_followed"] == complies(s, text)
            assert all(c.values()) == success(s, text)
            if c["entailed"]:
                assert c["complete"]


def test_broken_answers_break_the_requirement():
    rng = random.Random(0)
    for row in ITEMS:
        s = row["spec"]
        assert not complies(s, broken_answer(s, s["facts"], rng)), row["instruction"]


def test_splits_are_disjoint_deterministic_and_rows_keep_the_spec(tmp_path):
    paths = generate_premise(str(tmp_path / "p"), train=10, heldout=6, warmup=8, validation=6, audit=5, seed=3)
    again = generate_premise(str(tmp_path / "p"), train=10, heldout=6, warmup=8, validation=6, audit=5, seed=3)
    assert paths == again
    rows = {
        split: [json.loads(x) for x in open(paths[split])]
        for split in ("warmup", "train", "validation", "heldout", "audit")
    }
    assert [len(rows[s]) for s in rows] == [8, 10, 6, 6, 5]
    ids = [r["id"] for s in ("warmup", "train", "validation", "heldout") for r in rows[s]]
    assert len(set(ids)) == len(ids)
    assert all(r["metric"] == "premise" and r["answer"] == r["reference"] for r in rows["heldout"])
    assert specs_by_id(paths["train"])[rows["train"][0]["id"]] == rows["train"][0]["spec"]
    assert all((tmp_path / "p" / r["images"][0]).is_file() for r in rows["train"])


def test_the_audit_set_is_labelled_by_the_checker_against_the_reference_it_shows():
    rows = audit_rows(ITEMS[:200], random.Random(1))
    swapped = 0
    for row, item in zip(rows, ITEMS[:200]):
        shown = facts_of_reference(row["reference"])
        assert row["checks"] == checks(item["spec"], row["response"], shown)
        assert row["label"] == int(all(row["checks"].values()))
        swapped += shown != item["spec"]["facts"]
    assert 40 < swapped < 100
    assert 0.2 < sum(r["label"] for r in rows) / len(rows) < 0.6


RECIPE_TEMPLATES = Path(__file__).resolve().parents[3] / "recipes" / "templates"
TEMPLATES = Templates(
    {
        "feedback_template": str(RECIPE_TEMPLATES / "tiny-feedback.txt"),
        "reference_feedback_template": str(RECIPE_TEMPLATES / "tiny-feedback-reference.txt"),
        "refine_template": str(RECIPE_TEMPLATES / "tiny-refine.txt"),
    }
)
VERIFY_TEMPLATE = (RECIPE_TEMPLATES / "tiny-verifier.txt").read_text()


def _examples(compliance: float, **kw) -> list[dict]:
    rows = [{**r, "images": [r["id"]]} for r in ITEMS]  # the image path names the item
    return role_examples(
        rows, verifier_template=VERIFY_TEMPLATE, templates=TEMPLATES, rng=random.Random(0), compliance=compliance, **kw
    )


def _text(messages: list[dict]) -> str:
    return messages[0]["content"][-1]["text"]


BY_ID = {r["id"]: r for r in ITEMS}


def _item(example: dict) -> dict:
    return BY_ID[example["images"][0]]


def test_the_compliance_knob_sets_the_share_of_compliant_answer_examples():
    for knob in (0.0, 0.4, 1.0):
        ex = _examples(knob, answer=3, verify=0, revise=0)
        requirement = [e for e in ex if _item(e)["spec"]["family"] != "control"]
        share = sum(complies(_item(e)["spec"], _text(e["completion"])) for e in requirement) / len(requirement)
        assert abs(share - knob) < 0.06, (knob, share)
        assert all(facts_ok(_item(e)["spec"], _text(e["completion"])) for e in ex)


def test_verifier_examples_are_labelled_by_the_checker_including_swapped_references():
    ex = _examples(0.5, answer=0, verify=4, revise=0, swapped_references=0.33)
    swapped = 0
    for e in ex:
        prompt = _text(e["prompt"])
        reference = prompt.split("Reference: ")[1].split("\nResponse: ")[0]
        response = prompt.split("Response: ")[1]
        item = _item(e)
        shown = facts_of_reference(reference)
        verdict, got, _ = parse_verdict(_text(e["completion"]))
        assert got == checks(item["spec"], response, shown)
        assert verdict == int(all(got.values()))
        swapped += shown != item["spec"]["facts"]
    assert 0.25 < swapped / len(ex) < 0.42


def test_feedback_names_the_broken_requirement_and_unguided_feedback_no_value():
    s = spec("sentence", asked=["colour"])
    assert feedback_text(s, "The circle is red", guided=False) == "Not a full sentence: end with a period."
    assert (
        feedback_text(spec("omit", asked=["shape"], omit="colour"), "It is a red circle.", guided=False)
        == "Mentions the colour: leave it out."
    )
    assert feedback_text(s, "The circle is blue.", guided=False) == "Wrong colour: not blue."
    assert feedback_text(s, "The circle is red.", guided=False) == "Correct."
    assert requirement_feedback(spec("length", words=4), "red circle, left") == "Not four words: use exactly four."
    rng = random.Random(5)
    for row in ITEMS:
        sp = row["spec"]
        for kind in ("terse", "broken", "wrong_ideal", "wrong_terse"):
            fb = feedback_text(sp, response_of(kind, sp, sp["facts"], rng), guided=False)
            wrongly_stated = [v for a, v in sp["facts"].items() if f"the {a} is {v}" in fb]
            assert not wrongly_stated, fb


def test_reference_guided_feedback_may_state_facts_but_never_the_formatted_answer():
    rng = random.Random(6)
    stated_a_fact = 0
    for row in ITEMS:
        sp = row["spec"]
        ideal = ideal_answer(sp, sp["facts"])
        for kind in ("terse", "broken", "wrong_ideal", "wrong_terse"):
            fb = feedback_text(sp, response_of(kind, sp, sp["facts"], rng), guided=True)
            assert words(fb) != words(ideal), (row["instruction"], fb)
            if len(ideal.split()) > 1:
                assert ideal.lower().rstrip(".") not in fb.lower(), (row["instruction"], fb)
            stated_a_fact += any(f"the {a} is {v}" in fb for a, v in sp["facts"].items())
    assert stated_a_fact > 100


def test_reviser_examples_refine_to_the_compliant_answer_with_the_same_facts():
    ex = _examples(0.5, answer=0, verify=0, revise=2)
    refinements = [e for e in ex if _text(e["prompt"]).startswith("Improve")]
    feedbacks = [e for e in ex if not _text(e["prompt"]).startswith("Improve")]
    assert len(refinements) == len(feedbacks) == 2 * len(ITEMS)
    for e in refinements:
        sp = _item(e)["spec"]
        assert _text(e["completion"]) == ideal_answer(sp, sp["facts"])
    guided = [e for e in feedbacks if "Reference:" in _text(e["prompt"])]
    assert len(guided) == len(ITEMS)
