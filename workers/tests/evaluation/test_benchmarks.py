"""The built-in evaluator's metrics and summaries."""

from __future__ import annotations

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.evaluation.benchmarks import normalize_answer, score, summarize


def test_metrics():
    assert normalize_answer(" The Red circle. ") == "red circle" and normalize_answer("Three") == "3"
    assert score("Red.", "red", "exact") == 1.0 and score("dark red", "red", "exact") == 0.0
    assert (
        score("Yes, it is.", "yes", "yesno") == 1.0
        and score("No", "yes", "yesno") == 0.0
        and score("maybe", "no", "yesno") == 0.0
    )
    assert score("it is a red one", "red", "contains") == 1.0 and score("reddish", "red", "contains") == 0.0
    assert score("HELLO", "hello", "anls") == 1.0
    assert score("hellp", "hello", "anls") == pytest.approx(0.8) and score("xyz", "hello", "anls") == 0.0
    assert score("blue", ["red", "blue"], "exact") == 1.0
    with pytest.raises(BadInput):
        score("a", "a", "bleu")


def test_summarize_accuracy_by_task_and_benchmark():
    scored = [
        {"benchmark": "b1", "task_type": "colour", "score": 1.0},
        {"benchmark": "b1", "task_type": "colour", "score": 0.0},
        {"benchmark": "b2", "task_type": "count", "score": 1.0},
        {"benchmark": "b2", "task_type": "count", "score": 1.0},
    ]
    s = summarize(scored)
    assert s["overall"] == 0.75 and s["n"] == 4
    assert s["by_task"] == {"colour": 0.5, "count": 1.0} and s["by_benchmark"] == {"b1": 0.5, "b2": 1.0}
    assert s["counts"]["by_task"] == {"colour": 2, "count": 2}
    assert summarize([])["overall"] is None


def test_an_empty_prediction_never_scores_and_letter_answers_survive():
    # Issue 14, finding 6: "" scored 1.0 against "A", "an" or "the" (both normalised to "").
    for answer in ("A", "an", "the"):
        for metric in ("exact", "contains", "anls", "yesno"):
            assert score("", answer, metric) == 0.0, (answer, metric)
        assert score(answer, answer, "exact") == 1.0
    assert normalize_answer("A") == "a" and normalize_answer("The answer is B") == "answer is b"
    assert score("The answer is A.", "A", "contains") == 1.0 and score("a dog", "A", "contains") == 0.0
