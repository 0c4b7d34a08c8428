"""Stage `verify`: a binary verdict on every response of a shard against its seed's reference.

inputs: responses, seeds; outputs: verdicts. recipe.verifier.kind picks the rule matcher or the
model judge (payload models.verifier, greedy). A response whose seed's image cannot be read gets
no verdict and is listed in failed_items; the pair stage ignores unjudged responses.
"""

from __future__ import annotations

from typing import Any

from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from ..errors import BadInput
from ..method.verifier import model_verify, rule_verify
from ..prompts import load_template
from ..seeding import stable_seed
from ..serve.context import StageContext
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
    cfg = recipe["verifier"]
    seeds = seeds_by_id(payload["inputs"]["seeds"])
    failed: list[dict[str, Any]] = []
    known = []
    for r in rows:
        if r["seed_id"] in seeds:
            known.append(r)
        else:
            failed.append({"id": r["sample_id"], "reason": f"seed {r['seed_id']} not in the seeds shard"})

    verdicts: list[dict[str, Any]] = []
    if cfg["kind"] == "rule":
        for i, r in enumerate(known):
            ctx.check_cancelled()
            v, reason = rule_verify(r[text_key], seeds[r["seed_id"]]["reference"], cfg["rule_mode"])
            verdicts.append(_row(r, v, {c: None for c in ("entailed", "complete", "no_contradiction", "instruction_followed")}, reason, ""))
            ctx.progress(i + 1, len(known))
    elif cfg["kind"] == "model":
        images = SeedImages(recipe)
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
            lm = ctx.model(payload["models"]["verifier"], recipe["model"])
            results = model_verify(
                lm,
                items,
                template=load_template("verifier", cfg.get("template")),
                max_new_tokens=int(cfg["max_new_tokens"]),
                seed=stable_seed(payload["stage"], int(recipe["seed"]), payload["round"], payload["shard"]),
                batch_size=batch_size(recipe["sampling"]["batch_size"], options),
                on_batch=batch_progress(ctx),
            )
            verdicts = [_row(r, res["verdict"], res["checks"], res["reason"], res["raw"]) for r, res in zip(judged, results)]
    else:
        raise BadInput(f"unknown verifier.kind {cfg['kind']!r}")

    out = atomic_write_jsonl(payload["outputs"][output], verdicts)
    ctx.progress(len(verdicts), len(verdicts), force=True)
    n = len(verdicts)
    passed = sum(v["verdict"] for v in verdicts)
    metrics = {
        "n": n,
        "passed": passed,
        "pass_rate": round(passed / n, 4) if n else 0.0,
        "unparseable": sum(v["reason"] == "unparseable" for v in verdicts),
        "kind": cfg["kind"],
    }
    return {"outputs": {output: out}, "metrics": metrics, "failed_items": failed}


def _row(r: dict[str, Any], verdict: int, checks: dict[str, Any], reason: str, raw: str) -> dict[str, Any]:
    return {"seed_id": r["seed_id"], "sample_id": r["sample_id"], "verdict": int(verdict), "checks": checks, "reason": reason, "raw": raw}


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    return judge(payload, ctx, read_jsonl(payload["inputs"]["responses"]), "response", "verdicts")
