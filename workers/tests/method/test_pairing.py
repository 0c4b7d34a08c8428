"""Pair selection rules: closest rejected, refinement sources, limits, duplicates, feedback pairs."""

from ipa_worker.method.pairing import feedback_pairs, is_challenging, response_pairs, word_edit_distance

SEED = {
    "id": "s1",
    "images": ["/abs/img.png"],
    "instruction": "How many red circles? Answer in one word.",
    "reference": "three",
}


def resp(k, text):
    return {"seed_id": "s1", "sample_id": f"s1/n{k}", "kind": "normal", "perturbation": None, "response": text}


def verdict(sample_id, v):
    return {"seed_id": "s1", "sample_id": sample_id, "verdict": v, "checks": {}, "reason": "", "raw": ""}


def revision(src, feedback, refined, k=None):
    sample_id = f"{src}/r" if k is None else f"{src}/r{k}"
    return {
        "seed_id": "s1",
        "sample_id": sample_id,
        "source_sample_id": src,
        "feedback": feedback,
        "refined": refined,
        "reference_guided": False,
    }


def test_edit_distance_on_words():
    assert word_edit_distance("a b c", "a b c") == 0
    assert word_edit_distance("a b c", "a x c") == 1
    assert word_edit_distance("", "a b") == 2


def test_closest_rejected_and_row_format():
    responses = [resp(0, "three"), resp(1, "There are two red circles in the picture."), resp(2, "two")]
    verdicts = [verdict("s1/n0", 1), verdict("s1/n1", 0), verdict("s1/n2", 0)]
    rows = response_pairs(SEED, responses, verdicts, round=1, max_pairs=1)
    assert len(rows) == 1
    row = rows[0]
    assert row["chosen_id"] == "s1/n0" and row["rejected_id"] == "s1/n2"  # "two" is one word away
    assert row["images"] == ["/abs/img.png"] and row["round"] == 1 and row["seed_id"] == "s1"
    assert row["prompt"] == [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": SEED["instruction"]}]}
    ]
    assert row["chosen"] == [{"role": "assistant", "content": [{"type": "text", "text": "three"}]}]
    assert row["rejected"][0]["content"][0]["text"] == "two"
    assert row["id"] == "r1/s1/n0~s1/n2"


def test_refinement_source_preferred_over_closer_text():
    responses = [resp(0, "The circles number two."), resp(1, "three circles maybe")]
    verdicts = [verdict("s1/n0", 0), verdict("s1/n1", 0)]
    revisions = [revision("s1/n0", "Count again.", "three circles")]
    rows = response_pairs(SEED, responses, verdicts, revisions, [verdict("s1/n0/r", 1)], round=2, max_pairs=1)
    assert [(r["chosen_id"], r["rejected_id"]) for r in rows] == [("s1/n0/r", "s1/n0")]


def test_failed_refinement_is_never_chosen_and_never_rejected():
    responses = [resp(0, "two"), resp(1, "three")]
    verdicts = [verdict("s1/n0", 0), verdict("s1/n1", 1)]
    revisions = [revision("s1/n0", "fb", "four")]
    rows = response_pairs(SEED, responses, verdicts, revisions, [verdict("s1/n0/r", 0)], round=1, max_pairs=5)
    assert [(r["chosen_id"], r["rejected_id"]) for r in rows] == [("s1/n1", "s1/n0")]


def test_per_seed_limit_and_duplicates():
    responses = [resp(0, "three"), resp(1, "three"), resp(2, "two"), resp(3, "two"), resp(4, "four"), resp(5, "three")]
    verdicts = [
        verdict("s1/n0", 1),
        verdict("s1/n1", 1),
        verdict("s1/n2", 0),
        verdict("s1/n3", 0),
        verdict("s1/n4", 0),
        verdict("s1/n5", 0),
    ]
    rows = response_pairs(SEED, responses, verdicts, round=1, max_pairs=10)
    texts = [(r["chosen"][0]["content"][0]["text"], r["rejected"][0]["content"][0]["text"]) for r in rows]
    # chosen == rejected ("three" judged both ways) is dropped; repeated text pairs appear once.
    assert sorted(texts) == [("three", "four"), ("three", "two")]
    assert len(response_pairs(SEED, responses, verdicts, round=1, max_pairs=1)) == 1


def test_random_choice_is_seeded():
    responses = [resp(0, "three")] + [resp(k, f"wrong answer {k}") for k in range(1, 8)]
    verdicts = [verdict("s1/n0", 1)] + [verdict(f"s1/n{k}", 0) for k in range(1, 8)]
    a = response_pairs(SEED, responses, verdicts, round=1, max_pairs=3, rejected_choice="random", run_seed=5)
    b = response_pairs(SEED, responses, verdicts, round=1, max_pairs=3, rejected_choice="random", run_seed=5)
    assert [r["id"] for r in a] == [r["id"] for r in b]
    seeds = {
        tuple(
            r["rejected_id"]
            for r in response_pairs(
                SEED, responses, verdicts, round=1, max_pairs=3, rejected_choice="random", run_seed=s
            )
        )
        for s in range(6)
    }
    assert len(seeds) > 1


def test_no_pairs_without_both_sides():
    responses = [resp(0, "two"), resp(1, "four")]
    assert response_pairs(SEED, responses, [verdict("s1/n0", 0), verdict("s1/n1", 0)], round=1) == []
    assert response_pairs(SEED, responses, [verdict("s1/n0", 1), verdict("s1/n1", 1)], round=1) == []


def test_feedback_pairs_compare_feedbacks_on_the_same_response():
    responses = [resp(0, "two"), resp(1, "two circles")]
    revisions = [
        revision("s1/n0", "Count the red ones only.", "three", k=0),
        revision("s1/n0", "Looks fine.", "two", k=1),
        revision("s1/n1", "Be brief.", "3", k=0),  # passed, but no failing feedback on s1/n1
        revision("s1/n1", "Be brief.", "two circles", k=1),  # same text as the passing one: no pair
    ]
    rverdicts = [verdict("s1/n0/r0", 1), verdict("s1/n0/r1", 0), verdict("s1/n1/r0", 1), verdict("s1/n1/r1", 0)]
    prompt = lambda seed, response: f"I: {seed['instruction']} R: {response}"  # noqa: E731
    rows = feedback_pairs(SEED, responses, revisions, rverdicts, round=1, feedback_prompt=prompt, max_pairs=4)
    assert [(r["chosen_id"], r["rejected_id"], r["source_id"]) for r in rows] == [("s1/n0/r0", "s1/n0/r1", "s1/n0")]
    row = rows[0]
    assert row["chosen"][0]["content"][0]["text"] == "Count the red ones only."
    assert row["rejected"][0]["content"][0]["text"] == "Looks fine."
    assert row["prompt"][0]["content"][1]["text"] == f"I: {SEED['instruction']} R: two"  # the one response both saw
    # Feedbacks on different responses never pair, however they fared.
    assert (
        feedback_pairs(
            SEED,
            responses,
            revisions[:1] + revisions[2:3] + revisions[3:],
            [verdict("s1/n0/r0", 1), verdict("s1/n1/r1", 0)],
            round=1,
            feedback_prompt=prompt,
        )
        == []
    )
    # An unjudged refinement (verdict null) takes no side.
    assert (
        feedback_pairs(
            SEED,
            responses,
            revisions[:2],
            [verdict("s1/n0/r0", 1), verdict("s1/n0/r1", None)],
            round=1,
            feedback_prompt=prompt,
        )
        == []
    )


def test_feedback_pairs_take_turns_across_responses():
    responses = [resp(0, "two"), resp(1, "five")]
    revisions = [revision(src, f"fb {src} {k}", "x", k=k) for src in ("s1/n0", "s1/n1") for k in range(3)]
    rverdicts = [verdict(f"{src}/r{k}", int(k == 0)) for src in ("s1/n0", "s1/n1") for k in range(3)]
    rows = feedback_pairs(SEED, responses, revisions, rverdicts, round=1, feedback_prompt=lambda s, r: r, max_pairs=3)
    assert [r["source_id"] for r in rows] == ["s1/n0", "s1/n1", "s1/n0"]


def test_challenging():
    assert is_challenging([verdict("s1/n0", 0)], [verdict("s1/n0/r", 0)])
    assert not is_challenging([verdict("s1/n0", 0)], [verdict("s1/n0/r", 1)])
    assert not is_challenging([verdict("s1/n0", 1)], None)
    assert is_challenging([], [])
