"""Stage `verify`: a binary verdict on every response of a shard against its seed's reference.

inputs: responses, seeds; outputs: verdicts. recipe.verifier.kind picks the rule matcher or the
model judge (payload models.verifier, greedy). A response whose seed's image cannot be read gets
no verdict and is listed in failed_items; a model judgement that does not state the four checks
is recorded with verdict null (unjudged). The pair stage ignores both.

With recipe.verifier.audit "exact", every verdict is also scored against a ground truth (the
normalised response equals the reference) and the stage reports the confusion counts
(`audit_tp`, `audit_fp`, `audit_fn`, `audit_tn`, `audit_unjudged`, `audit_true`); each row gets `truth`.
"""

from __future__ import annotations

from typing import Any

from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from ..errors import BadInput
from ..method.verifier import model_verify, rule_verify
from ..prompts import load_template
from ..seeding import stable_seed
from ..context import StageContext
from ..contract.recipe_types import Recipe
from .common import SeedImages, batch_progress, batch_size, seeds_by_id


def judge(
    payload: dict[str, Any],
    ctx: StageContext,
    rows: list[dict[str, Any]],
    text_key: str,
    output: str,
) -> dict[str, Any]:
    """Verdict rows for `rows` (responses or revisions, the judged text under `text_key`)."""
    recipe, options = payload["recipe"], payload["options"]
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

    verdicts: list[dict[str, Any]] = []
    what = "refinements" if text_key == "refined" else "responses"
    ctx.phase(f"verifying {len(known)} {what} with the {cfg.kind} verifier", label="verifying")
    if cfg.kind == "rule":
        for i, r in enumerate(known):
            ctx.check_cancelled()
            v, reason = rule_verify(r[text_key], seeds[r["seed_id"]]["reference"], cfg.rule_mode)
            verdicts.append(_row(r, v, {c: None for c in ("entailed", "complete", "no_contradiction", "instruction_followed")}, reason, ""))
            ctx.progress(i + 1, len(known))
    elif cfg.kind == "model":
        images = SeedImages(settings)
        items, judged = [], []
        for r in known:
            imgs = images.get(seeds[r["seed_id"]])
            if imgs is None:
                failed.append({"id": r["sample_id"], "reason": images.errors[r["seed_id"]]})
                continue
            seed = seeds[r["seed_id"]]
            items.append({"images": imgs, "instruction": seed["instruction"], "response": r[text_key], "reference": seed["reference"]})
            judged.append(r)

        if items:
            results = model_verify(
                ctx.role(payload, "verifier"),
                items,
                template=load_template("verifier", cfg.template),
                max_new_tokens=cfg.max_new_tokens,
                seed=stable_seed(payload["stage"], settings.seed, payload["round"], payload["shard"]),
                batch_size=batch_size(settings.sampling.batch_size, options),
                on_batch=batch_progress(ctx, "verifying"),
            )
            verdicts = [_row(r, res["verdict"], res["checks"], res["reason"], res["raw"]) for r, res in zip(judged, results)]
    else:
        raise BadInput(f"unknown verifier.kind {cfg.kind!r}")

    metrics: dict[str, Any] = {}
    if cfg.audit == "exact":
        texts = {r["sample_id"]: r[text_key] for r in known}
        for v in verdicts:
            v["truth"] = ground_truth(texts[v["sample_id"]], seeds[v["seed_id"]]["reference"])
        metrics.update(audit_counts(verdicts))
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
        kind=cfg.kind,
        **ctx.generation.metrics(),
    )
    return {"outputs": {output: out}, "metrics": metrics, "failed_items": failed}


def ground_truth(text: str, reference: str) -> int:
    """The audit's truth: the normalised text equals the reference (canonical short answers)."""
    return rule_verify(text, reference, "exact")[0]


def audit_counts(verdicts: list[dict[str, Any]]) -> dict[str, int]:
    """Confusion counts of the verdicts against their `truth` (positive = v 1); unjudged apart;
    `audit_true`: texts that are truly correct, judged or not."""
    c = {"audit_tp": 0, "audit_fp": 0, "audit_fn": 0, "audit_tn": 0, "audit_unjudged": 0, "audit_true": 0}
    for v in verdicts:
        c["audit_true"] += v["truth"]
        if v["verdict"] is None:
            c["audit_unjudged"] += 1
        else:
            c[{(1, 1): "audit_tp", (1, 0): "audit_fp", (0, 1): "audit_fn", (0, 0): "audit_tn"}[(v["verdict"], v["truth"])]] += 1
    return c


def _row(r: dict[str, Any], verdict: int | None, checks: dict[str, Any], reason: str, raw: str) -> dict[str, Any]:
    return {"seed_id": r["seed_id"], "sample_id": r["sample_id"], "verdict": verdict, "checks": checks, "reason": reason, "raw": raw}


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    return judge(payload, ctx, read_jsonl(payload["inputs"]["responses"]), "response", "verdicts")
