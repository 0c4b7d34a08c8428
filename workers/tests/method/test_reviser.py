"""Reviser prompts: r_ref reaches the feedback prompt only in reference-guided rounds."""

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.method.reviser import Templates, feedback_prompt, refine_prompt

REF = "The sign says OPEN LATE"


def test_round1_feedback_prompt_has_no_reference():
    t = Templates()
    text = feedback_prompt(t, "Read the sign.", "It says CLOSED")
    assert "Read the sign." in text and "It says CLOSED" in text
    assert REF not in text and "Reference" not in text and "{" not in text


def test_round3_feedback_prompt_has_reference():
    text = feedback_prompt(Templates(), "Read the sign.", "It says CLOSED", REF)
    assert REF in text and "It says CLOSED" in text


def test_refine_prompt_has_feedback_not_reference():
    text = refine_prompt(Templates(), "Read the sign.", "It says CLOSED", "The word is wrong.")
    assert "The word is wrong." in text and "It says CLOSED" in text and REF not in text


def test_template_overrides(tmp_path):
    path = tmp_path / "fb.txt"
    path.write_text("FB {instruction} || {response} {json: 1}", encoding="utf-8")
    t = Templates({"feedback_template": str(path)})
    assert feedback_prompt(t, "I", "R") == "FB I || R {json: 1}"
    bad = tmp_path / "bad.txt"
    bad.write_text("no placeholders", encoding="utf-8")
    with pytest.raises(BadInput):
        Templates({"refine_template": str(bad)})
