"""Stage `verify`: a binary verdict on every response of a shard against its seed's reference.

inputs: responses, seeds; outputs: verdicts. recipe.verifier.kind picks the rule matcher or the
model judge (payload models.verifier, greedy). A response whose seed's image cannot be read gets
no verdict and is listed in failed_items; a model judgement that does not state the four checks
is recorded with verdict null (unjudged). The pair stage ignores both.

A model judgement left unjudged is judged once more, sampled (verifier.rejudge); rows judged
twice say `rejudged`, and the metrics count them (`rejudged`, `rejudged_judged`).

With recipe.verifier.audit, every verdict is also scored against a ground truth (evaluation/verifier_audit.py)
and the stage reports the confusion counts (`audit_tp`, `audit_fp`, `audit_fn`, `audit_tn`,
`audit_unjudged`, `audit_true`; with checker also per check, `audit_<check>_<cell>`); each row
gets `truth` (and `truth_checks`).
"""

from __future__ import annotations

from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from ..errors import BadInput
from ..evaluation.verifier_audit import Auditor
from ..method.verifier import CHECKS, model_verify, rule_verify
from ..prompts import load_template
from ..seeding import stable_seed
from .common import SeedImages, batch_progress, batch_size, seeds_by_id


def _rule_verdicts(
    ctx: StageContext, known: list[dict[str, Any]], seeds: dict[str, Any], text_key: str, cfg: Any
) -> list[dict[str, Any]]:
    verdicts = []
    for i, r in enumerate(known):
        ctx.check_cancelled()
        v, reason = rule_verify(r[text_key], seeds[r["seed_id"]]["reference"], cfg.rule_mode)
        verdicts.append(_row(r, v, {c: None for c in CHECKS}, reason, ""))
        ctx.progress(i + 1, len(known))
    return verdicts


def _model_verdicts(
    payload: dict[str, Any],
    ctx: StageContext,
    settings: Recipe,
    known: list[dict[str, Any]],
    seeds: dict[str, Any],
    text_key: str,
    failed: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The model verifier's verdicts; with `verifier.rejudge`, unjudged responses get a second,
    sampled judgement. A row whose image cannot be read goes to `failed`."""
    cfg = settings.verifier
    images = SeedImages(settings)
    items, judged = [], []
    for r in known:
        imgs = images.get(seeds[r["seed_id"]])
        if imgs is None:
            failed.append({"id": r["sample_id"], "reason": images.errors[r["seed_id"]]})
            continue
        seed = seeds[r["seed_id"]]
        items.append(
            {
                "images": imgs,
                "instruction": seed["instruction"],
                "response": r[text_key],
                "reference": seed["reference"],
            }
        )
        judged.append(r)
    if not items:
        return []
    lm = ctx.role(payload, "verifier")
    kw = dict(
        template=load_template("verifier", cfg.template),
        max_new_tokens=cfg.max_new_tokens,
        batch_size=batch_size(settings.sampling.batch_size, payload["options"]),
        on_batch=batch_progress(ctx, "verifying"),
    )
    seed = stable_seed(payload["stage"], settings.seed, payload["round"], payload["shard"])
    results = model_verify(lm, items, seed=seed, **kw)
    again = [i for i, res in enumerate(results) if res["verdict"] is None] if cfg.rejudge else []
    if again:
        ctx.phase(
            f"judging {len(again)} unjudged response{'' if len(again) == 1 else 's'} once more",
            label="verify: second judgement",
        )
        second = model_verify(
            lm, [items[i] for i in again], seed=stable_seed("rejudge", seed), temperature=cfg.rejudge_temperature, **kw
        )
        for i, res in zip(again, second):
            results[i] = {**res, "rejudged": True}
    return [
        _row(r, res["verdict"], res["checks"], res["reason"], res["raw"], res.get("rejudged", False))
        for r, res in zip(judged, results)
    ]


def judge(
    payload: dict[str, Any],
    ctx: StageContext,
    rows: list[dict[str, Any]],
    text_key: str,
    output: str,
) -> dict[str, Any]:
    """Verdict rows for `rows` (responses or revisions, the judged text under `text_key`)."""
    recipe = payload["recipe"]
    settings = Recipe.from_dict(recipe)
    cfg = settings.verifier
    seeds = seeds_by_id(payload["inputs"]["seeds"])
    failed: list[dict[str, Any]] = []
    known = []
    for r in rows:
        if r["seed_id"] in seeds:
            known.append(r)
        else:
            failed.append({"id": r["sample_id"], "reason": f"seed {r['seed_id']} not in the seeds shard"})

    what = "refinements" if text_key == "refined" else "responses"
    ctx.phase(f"verifying {len(known)} {what} with the {cfg.kind} verifier", label="verifying")
    if cfg.kind == "rule":
        verdicts = _rule_verdicts(ctx, known, seeds, text_key, cfg)
    elif cfg.kind == "model":
        verdicts = _model_verdicts(payload, ctx, settings, known, seeds, text_key, failed)
    else:
        raise BadInput(f"unknown verifier.kind {cfg.kind!r}")

    metrics: dict[str, Any] = {}
    auditor = Auditor(recipe, payload["run_dir"])
    if auditor.enabled:
        metrics.update(auditor.annotate(verdicts, seeds, {r["sample_id"]: r[text_key] for r in known}))
    out = atomic_write_jsonl(payload["outputs"][output], verdicts)
    ctx.progress(len(verdicts), len(verdicts), force=True)
    judged = [v for v in verdicts if v["verdict"] is not None]
    passed = sum(v["verdict"] for v in judged)
    metrics.update(
        n=len(verdicts),
        judged=len(judged),
        passed=passed,
        pass_rate=round(passed / len(judged), 4) if judged else 0.0,
        unjudged=len(verdicts) - len(judged),
        unparseable=sum(v["reason"] == "unparseable" for v in verdicts),
        rejudged=sum(v.get("rejudged", False) for v in verdicts),
        rejudged_judged=sum(v.get("rejudged", False) and v["verdict"] is not None for v in verdicts),
        kind=cfg.kind,
        **ctx.generation.metrics(),
    )
    return {"outputs": {output: out}, "metrics": metrics, "failed_items": failed}


def _row(
    r: dict[str, Any], verdict: int | None, checks: dict[str, Any], reason: str, raw: str, rejudged: bool = False
) -> dict[str, Any]:
    row = {
        "seed_id": r["seed_id"],
        "sample_id": r["sample_id"],
        "verdict": verdict,
        "checks": checks,
        "reason": reason,
        "raw": raw,
    }
    return {**row, "rejudged": True} if rejudged else row


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    return judge(payload, ctx, read_jsonl(payload["inputs"]["responses"]), "response", "verdicts")
