"""Preference pairs from one seed's verified responses and refinements (pure functions, no torch).

chosen = a verified text (a response or a refinement with v=1); rejected = a failed *response* of
the same seed (refinements are the reviser's text, not the generator's, so they never serve as
rejected). With `closest`, the rejected is the response a passing refinement came from, else the
failed response with the smallest word edit distance to the chosen text: pairs then differ in
whether the instruction is fulfilled, not in wording.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..contract import recipe_defaults
from ..models.messages import assistant_messages, user_messages
from ..seeding import stable_seed
from ..textdist import edit_distance

# What a caller leaves out is the recipe's default (pairs.*, seed), from the contract.
_DEFAULTS = recipe_defaults()
_PAIRS = _DEFAULTS["pairs"]


def word_edit_distance(a: str, b: str) -> int:
    """Levenshtein distance over whitespace-separated words (cheap on long texts, ignores spacing)."""
    return edit_distance(a.split(), b.split())


def _verdict_map(verdicts: list[dict[str, Any]]) -> dict[str, int]:
    """sample id → 0|1 for judged rows; an unjudged row (verdict null) is left out."""
    return {v["sample_id"]: int(v["verdict"]) for v in verdicts if v["verdict"] is not None}


def candidates(
    responses: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    revisions: list[dict[str, Any]] | None = None,
    revision_verdicts: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(chosen candidates, rejected candidates) of one seed: `{id, text, source}` each.

    A response without a verdict is neither (its verify job failed on it); a refinement passes
    only with an explicit v=1.
    """
    vmap = _verdict_map(verdicts)
    rmap = _verdict_map(revision_verdicts or [])
    chosen, rejected = [], []
    for r in sorted(responses, key=lambda r: r["sample_id"]):
        v = vmap.get(r["sample_id"])
        if v == 1:
            chosen.append({"id": r["sample_id"], "text": r["response"], "source": None})
        elif v == 0:
            rejected.append({"id": r["sample_id"], "text": r["response"], "source": None})
    for rev in sorted(revisions or [], key=lambda r: r["sample_id"]):
        if rmap.get(rev["sample_id"]) == 1:
            chosen.append({"id": rev["sample_id"], "text": rev["refined"], "source": rev["source_sample_id"]})
    return chosen, rejected


def accepted_rows(seed: dict[str, Any], chosen: list[dict[str, Any]], max_rows: int) -> list[dict[str, Any]]:
    """The seed's verified texts as SFT rows (rejection-sampling fine-tuning's data): distinct
    texts, responses before refinements, at most `max_rows` (the chosen side DPO would see)."""
    out, seen = [], set()
    for c in sorted(chosen, key=lambda c: (c["source"] is not None, c["id"])):
        text = c["text"].strip()
        if text and text not in seen and len(out) < max_rows:
            seen.add(text)
            out.append(
                {
                    "seed_id": seed["id"],
                    "sample_id": c["id"],
                    "images": list(seed["images"]),
                    "instruction": seed["instruction"],
                    "text": c["text"],
                }
            )
    return out


def select_pairs(
    chosen: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
    *,
    max_pairs: int,
    rejected_choice: str = _PAIRS["rejected_choice"],
    rng: random.Random | None = None,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Up to `max_pairs` (chosen, rejected) with distinct texts, best first.

    closest: a refinement paired with its own source comes first, then pairs by increasing word
    edit distance (ties by ids, so the result is deterministic); random: a shuffle by `rng`.
    Pairs whose two texts are equal, or that repeat a (chosen, rejected) text pair, are dropped.
    """
    combos = [(c, r) for c in chosen for r in rejected]
    if rejected_choice == "random":
        combos.sort(key=lambda cr: (cr[0]["id"], cr[1]["id"]))
        (rng or random.Random(0)).shuffle(combos)
    elif rejected_choice == "closest":
        combos.sort(
            key=lambda cr: (
                0 if cr[0]["source"] is not None and cr[0]["source"] == cr[1]["id"] else 1,
                word_edit_distance(cr[0]["text"], cr[1]["text"]),
                cr[0]["id"],
                cr[1]["id"],
            )
        )
    else:
        raise ValueError(f"unknown rejected_choice {rejected_choice!r}")
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for c, r in combos:
        key = (c["text"].strip(), r["text"].strip())
        if key[0] == key[1] or key in seen or not key[0]:
            continue
        seen.add(key)
        out.append((c, r))
        if len(out) >= max_pairs:
            break
    return out


def response_pairs(
    seed: dict[str, Any],
    responses: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    revisions: list[dict[str, Any]] | None = None,
    revision_verdicts: list[dict[str, Any]] | None = None,
    *,
    round: int,  # noqa: A002 - the row field's name
    max_pairs: int = _PAIRS["max_pairs_per_seed"],
    rejected_choice: str = _PAIRS["rejected_choice"],
    run_seed: int = _DEFAULTS["seed"],
) -> list[dict[str, Any]]:
    """Pair rows (docs/ARCHITECTURE.md, TRL conversational preference format) for one seed."""
    chosen, rejected = candidates(responses, verdicts, revisions, revision_verdicts)
    rng = random.Random(stable_seed("pairs", run_seed, round, seed["id"]))
    picked = select_pairs(chosen, rejected, max_pairs=max_pairs, rejected_choice=rejected_choice, rng=rng)
    return [
        {
            "id": f"r{round}/{c['id']}~{r['id']}",
            "seed_id": seed["id"],
            "round": round,
            "images": list(seed["images"]),
            "prompt": user_messages(seed["instruction"], len(seed["images"])),
            "chosen": assistant_messages(c["text"]),
            "rejected": assistant_messages(r["text"]),
            "chosen_id": c["id"],
            "rejected_id": r["id"],
        }
        for c, r in picked
    ]


def feedback_pairs(
    seed: dict[str, Any],
    responses: list[dict[str, Any]],
    revisions: list[dict[str, Any]],
    revision_verdicts: list[dict[str, Any]],
    *,
    round: int,  # noqa: A002
    feedback_prompt: Callable[[dict[str, Any], str], str],
    max_pairs: int = _PAIRS["max_pairs_per_seed"],
) -> list[dict[str, Any]]:
    """Reviser pairs on one failed response: a feedback whose refinement passed (chosen) against a
    feedback on the *same* response whose refinement failed (rejected).

    Both feedbacks answered the same prompt (`feedback_prompt(seed, that response)`), so the pair
    teaches what makes feedback useful, not which response was critiqued. The revise stage samples
    several feedbacks per response (reviser.feedbacks_per_response) to make such pairs possible.
    Sources take turns, so `max_pairs` spreads over the seed's responses; ties go by ids.
    """
    rmap = _verdict_map(revision_verdicts)
    text_of = {r["sample_id"]: r["response"] for r in responses}
    by_source: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for rev in sorted(revisions, key=lambda r: r["sample_id"]):
        v = rmap.get(rev["sample_id"])
        if v is None or not str(rev.get("feedback", "")).strip():
            continue
        good, bad = by_source.setdefault(rev["source_sample_id"], ([], []))
        (good if v == 1 else bad).append({"id": rev["sample_id"], "text": rev["feedback"]})

    per_source = []
    for source in sorted(by_source):
        good, bad = by_source[source]
        picked, seen = [], set()
        for g in good:
            for b in bad:
                key = (g["text"].strip(), b["text"].strip())
                if key[0] != key[1] and key not in seen:
                    seen.add(key)
                    picked.append((source, g, b))
        per_source.append(picked)
    # Round-robin over sources: the first pair of every response before any second one.
    ordered = [
        p
        for turn in range(max((len(x) for x in per_source), default=0))
        for x in per_source
        if turn < len(x)
        for p in [x[turn]]
    ]
    return [
        {
            "id": f"r{round}/{g['id']}~{b['id']}",
            "seed_id": seed["id"],
            "round": round,
            "images": list(seed["images"]),
            "prompt": user_messages(feedback_prompt(seed, text_of.get(source, "")), len(seed["images"])),
            "chosen": assistant_messages(g["text"]),
            "rejected": assistant_messages(b["text"]),
            "chosen_id": g["id"],
            "rejected_id": b["id"],
            "source_id": source,
        }
        for source, g, b in ordered[:max_pairs]
    ]


def is_challenging(
    verdicts: list[dict[str, Any]],
    revision_verdicts: list[dict[str, Any]] | None = None,
) -> bool:
    """True when no response and no refinement of the seed passed."""
    return not any(v["verdict"] == 1 for v in list(verdicts) + list(revision_verdicts or []))


def group_by_seed(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["seed_id"], []).append(r)
    return out
