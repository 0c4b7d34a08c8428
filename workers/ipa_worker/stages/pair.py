"""Stage `pair`: response pairs, reviser feedback pairs and the challenging seeds of a shard.

inputs: seeds, responses, verdicts, and revisions + revision_verdicts (absent or null when the
round does not revise); outputs: pairs, feedback_pairs, challenging (full seed rows), accepted
(every seed's verified texts, the data of the rft baseline). A seed with no judged response at
all (its images failed upstream, or the verifier judged none) cannot be paired: it is carried to
the next round with the challenging seeds and counted (`unjudged_seeds`), never dropped silently.

With recipe.verifier.audit, `chosen_correct` counts the pairs whose chosen text is truly correct
(evaluation/verifier_audit.py).
"""

from __future__ import annotations

from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from ..evaluation.verifier_audit import Auditor
from ..method.pairing import accepted_rows, candidates, feedback_pairs, group_by_seed, is_challenging, response_pairs
from ..method.reviser import Templates, feedback_prompt
from .common import optional_rows


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe, inputs = payload["recipe"], payload["inputs"]
    settings = Recipe.from_dict(recipe)
    cfg = settings.pairs
    round_ = payload["round"]
    seeds = read_jsonl(inputs["seeds"])
    responses = group_by_seed(read_jsonl(inputs["responses"]))
    # Unjudged rows (verdict null) count as no verdict: such a response is neither chosen nor rejected.
    verdicts = group_by_seed([v for v in read_jsonl(inputs["verdicts"]) if v["verdict"] is not None])
    revisions = group_by_seed(optional_rows(inputs, "revisions"))
    rverdicts = group_by_seed(optional_rows(inputs, "revision_verdicts"))
    templates = Templates(recipe["reviser"]) if cfg.feedback_pairs and revisions else None

    pairs, fpairs, challenging, accepted = [], [], [], []
    unjudged = 0
    for i, seed in enumerate(seeds):
        ctx.check_cancelled()
        sid = seed["id"]
        if not verdicts.get(sid):
            unjudged += 1
            challenging.append(seed)  # nothing judged: the next round tries it again
            continue
        chosen, _ = candidates(responses.get(sid, []), verdicts[sid], revisions.get(sid, []), rverdicts.get(sid, []))
        accepted += accepted_rows(seed, chosen, cfg.max_pairs_per_seed)
        pairs += response_pairs(
            seed,
            responses.get(sid, []),
            verdicts[sid],
            revisions.get(sid, []),
            rverdicts.get(sid, []),
            round=round_,
            max_pairs=cfg.max_pairs_per_seed,
            rejected_choice=cfg.rejected_choice,
            run_seed=settings.seed,
        )
        if templates is not None and revisions.get(sid):
            # The pair's prompt is the one the reviser actually saw: with r_ref in guided rounds.
            guided = any(r.get("reference_guided") for r in revisions[sid])

            def prompt(s: dict[str, Any], response: str, guided: bool = guided) -> str:
                return feedback_prompt(templates, s["instruction"], response, s["reference"] if guided else None)

            fpairs += feedback_pairs(
                seed, responses.get(sid, []), revisions[sid], rverdicts.get(sid, []),
                round=round_, feedback_prompt=prompt, max_pairs=cfg.max_pairs_per_seed,
            )  # fmt: skip
        if is_challenging(verdicts[sid], rverdicts.get(sid, [])):
            challenging.append(seed)
        ctx.progress(i + 1, len(seeds))

    outs = payload["outputs"]
    result = {
        "pairs": atomic_write_jsonl(outs["pairs"], pairs),
        "feedback_pairs": atomic_write_jsonl(outs["feedback_pairs"], fpairs),
        "challenging": atomic_write_jsonl(outs["challenging"], challenging),
        "accepted": atomic_write_jsonl(outs["accepted"], accepted),
    }
    judged = len(seeds) - unjudged
    metrics = {
        "seeds": len(seeds),
        "pairs": len(pairs),
        "feedback_pairs": len(fpairs),
        "challenging": len(challenging),
        "unjudged_seeds": unjudged,
        "solved_rate": round((judged - (len(challenging) - unjudged)) / judged, 4) if judged else 0.0,
        "accepted": len(accepted),
    }
    auditor = Auditor(recipe, payload["run_dir"])
    if auditor.enabled:
        by_id = {s["id"]: s for s in seeds}
        metrics["chosen_correct"] = sum(
            auditor.correct(by_id[p["seed_id"]], p["chosen"][0]["content"][0]["text"]) for p in pairs
        )
    return {"outputs": result, "metrics": metrics, "failed_items": []}
