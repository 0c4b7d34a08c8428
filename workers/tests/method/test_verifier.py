"""Rule verification modes and the lenient parser of the model verifier's output."""

import pytest
from ipa_worker.method.verifier import normalize, parse_verdict, resolve_mode, rule_verify
from ipa_worker.prompts import load_template, render


def test_normalize_case_punctuation_articles_numbers():
    assert normalize("  The THREE red   Circles!! ") == "3 red circles"
    assert normalize("twenty-one") == "21"
    assert normalize("It costs 3.50, not 1,000.") == "it costs 3.50 not 1000"


@pytest.mark.parametrize(
    "response,reference,mode,expected",
    [
        ("Red circle.", "red circle", "exact", 1),
        ("A red circle", "the red circle", "exact", 1),
        ("red circle on the left", "red circle", "exact", 0),
        ("I see a red circle on the left.", "red circle", "contains", 1),
        ("The number is 12", "2", "contains", 0),  # whole words only
        ("There are three squares.", "3", "numeric", 1),
        ("There are 3 squares", "three", "numeric", 1),
        ("3 or 4", "3", "numeric", 0),
        ("four", "3", "numeric", 0),
        ("no idea", "3", "numeric", 0),
        ("3.0", "3", "numeric", 1),
    ],
)
def test_rule_modes(response, reference, mode, expected):
    verdict, reason = rule_verify(response, reference, mode)
    assert verdict == expected, reason


def test_auto_mode_picks_by_reference():
    assert resolve_mode("Seven", "auto") == "numeric"
    assert resolve_mode("a blue square", "auto") == "contains"
    assert resolve_mode("the text reads open late today", "auto") == "exact"
    assert rule_verify("Yes, it is blue.", "blue", "auto")[0] == 1
    assert rule_verify("the text reads open late today.", "The text reads: open late today", "auto")[0] == 1


CANONICAL = """ENTAILED: yes
COMPLETE: yes
NO_CONTRADICTION: yes
INSTRUCTION_FOLLOWED: no
REASON: the answer is not one word
VERDICT: 0"""


ALL_YES = "ENTAILED: yes\nCOMPLETE: yes\nNO_CONTRADICTION: yes\nINSTRUCTION_FOLLOWED: yes\n"


@pytest.mark.parametrize(
    "text,verdict",
    [
        (CANONICAL, 0),
        ("entailed: yes\ncomplete: yes\nno_contradiction: yes\ninstruction_followed: yes\nverdict: 1", 1),
        (
            '{"entailed": true, "complete": true, "no_contradiction": false, "instruction_followed": true, "verdict": 0}',
            0,
        ),
        (
            '{"entailed": true, "complete": true, "no_contradiction": true, "instruction_followed": true, "verdict": 1}',
            1,
        ),
        (ALL_YES + "VERDICT: 1\nWait, the colour is wrong.\nVERDICT: 0", 0),
        (ALL_YES + "The final verdict is: 1", 1),
        (ALL_YES + "**Verdict**: PASS", 1),
        ("Verdict: incorrect.", 0),
        ("verdict = no", 0),
        (ALL_YES + "VERDICT：1", 1),  # full-width colon
        ("Entailment: yes\nCompleteness: yes\nContradiction: no\nInstruction following: yes", 1),  # no verdict line
        ("ENTAILED: yes\nCOMPLETE: no\nNO_CONTRADICTION: yes\nINSTRUCTION_FOLLOWED: yes", 0),
        ("VERDICT: 1/0", None),  # the template echoed back
        ("VERDICT: 1 if all four checks are yes, otherwise 0", None),
        ("", None),
        ("I think the answer looks fine overall.", None),
    ],
)
def test_parse_awkward_outputs(text, verdict):
    got, checks, reason = parse_verdict(text)
    assert got == verdict, (text, got, reason)
    assert set(checks) == {"entailed", "complete", "no_contradiction", "instruction_followed"}
    if verdict is None:
        assert reason == "unparseable" or reason.startswith("incomplete:")


@pytest.mark.parametrize(
    "text",
    [
        "ENTAILED: no\nCOMPLETE: yes\nNO_CONTRADICTION: yes\nINSTRUCTION_FOLLOWED: yes\nVERDICT: 1",
        '{"entailed": true, "complete": true, "no_contradiction": true, "instruction_followed": false, "verdict": 1}',
        "ENTAILED: yes\nCOMPLETE: yes\nCONTRADICTION: yes\nINSTRUCTION_FOLLOWED: yes\nVERDICT: 1",
    ],
)
def test_a_failed_check_is_never_overridden_by_the_verdict(text):
    """The paper's rule: v = 1 only if all four checks hold, whatever the verdict line says."""
    assert parse_verdict(text)[0] == 0


def test_check_names_match_whole_words_only():
    text = "ENTAILED: yes\nINCOMPLETE: yes\nNO_CONTRADICTION: yes\nINSTRUCTION_FOLLOWED: yes\nVERDICT: 1"
    verdict, checks, reason = parse_verdict(text)
    assert checks["complete"] is None  # "INCOMPLETE: yes" says nothing of COMPLETE
    assert verdict is None and reason == "incomplete: complete not stated"
    assert (
        parse_verdict(ALL_YES.replace("NO_CONTRADICTION", "XNO_CONTRADICTION") + "VERDICT: 1")[1]["no_contradiction"]
        is None
    )


@pytest.mark.parametrize(
    "text", ["1", "yes", "Looks right to me.\nyes", "Verdict - yes", '{"verdict": "pass", "reason": "matches"}']
)
def test_a_pass_without_the_four_checks_is_unjudged(text):
    verdict, _, reason = parse_verdict(text)
    assert verdict is None, (text, reason)


def test_parse_checks_and_reason():
    verdict, checks, reason = parse_verdict(CANONICAL)
    assert checks == {"entailed": True, "complete": True, "no_contradiction": True, "instruction_followed": False}
    assert reason == "the answer is not one word"
    _, checks, _ = parse_verdict("Contradiction: yes\nVERDICT: 0")
    assert checks["no_contradiction"] is False


def test_verifier_template_renders_all_parts():
    text = render(load_template("verifier"), instruction="How many?", response="{three}", reference="3")
    assert "How many?" in text and "{three}" in text and "Reference answer: 3" in text
    assert "VERDICT" in text


def test_answers_made_of_articles_or_letters_survive_normalisation():
    # Issue 14, finding 6: "A" normalised to "" so a seed answered "A" could never pass.
    assert normalize("A") == "a" and normalize("the") == "the" and normalize("An.") == "an"
    assert normalize("The answer is A.") == "answer is a"  # a final "a" is a letter, not an article
    assert normalize("A red circle") == "red circle"
    assert rule_verify("A", "A", "auto")[0] == 1
    assert rule_verify("The answer is A.", "A", "auto")[0] == 1
    assert rule_verify("a dog", "A", "auto")[0] == 0
    assert rule_verify("", "A", "auto")[0] == 0


PACKAGED_ECHO = load_template("verifier").split("Reply in exactly this form, one line each:")[1]


@pytest.mark.parametrize(
    "text, reason",
    [
        (PACKAGED_ECHO, "unparseable"),  # the 7B recipes' template echoed back: placeholders state nothing
        (render(load_template("verifier"), instruction="Is it red?", response="yes", reference="yes"), "unparseable"),
        (
            "ENTAILED: yes or no\nCOMPLETE: yes or no\nNO_CONTRADICTION: yes or no\nINSTRUCTION_FOLLOWED: yes or no\nVERDICT: 1 if all four checks are yes",
            "hedged",
        ),
        (ALL_YES.replace("ENTAILED: yes", "ENTAILED: yes, but the colour is wrong") + "VERDICT: 1", "hedged"),
        (ALL_YES.replace("COMPLETE: yes", "COMPLETE: no") + "COMPLETE: yes\nVERDICT: 1", "inconsistent"),
        (ALL_YES + "INSTRUCTION_FOLLOWED: no\nINSTRUCTION_FOLLOWED: yes\nVERDICT: 1", "inconsistent"),
        ("ENTAILED: yes or no\n" + ALL_YES + "VERDICT: 1", "hedged"),  # a hedge taints the judgement after it
    ],
)
def test_only_explicit_consistent_judgements_pass(text, reason):
    verdict, _, why = parse_verdict(text)
    assert verdict is None, (text, why)
    assert why.startswith(reason), why


def test_explicit_judgements_still_read():
    assert parse_verdict(PACKAGED_ECHO + "\n" + ALL_YES + "VERDICT: 1")[0] == 1  # the echo states nothing
    assert parse_verdict(ALL_YES + "VERDICT: 1.")[0] == 1
    assert (
        parse_verdict("ENTAILED: yes; COMPLETE: yes; NO_CONTRADICTION: yes; INSTRUCTION_FOLLOWED: yes; VERDICT: 1")[0]
        == 1
    )
    # a negative statement counts with its explanation: reading a fail is never a false pass
    assert parse_verdict(ALL_YES.replace("COMPLETE: yes", "COMPLETE: no, the side is missing") + "VERDICT: 0")[0] == 0
    assert parse_verdict(ALL_YES + "VERDICT: 0 because the side is wrong")[0] == 0
    # a failed check decides even when another check is inconsistent
    assert (
        parse_verdict("ENTAILED: no\nCOMPLETE: no\nCOMPLETE: yes\nNO_CONTRADICTION: yes\nINSTRUCTION_FOLLOWED: yes")[0]
        == 0
    )
