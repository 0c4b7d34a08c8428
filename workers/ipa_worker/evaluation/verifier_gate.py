"""The verifier gate (`verifier.gate`): before a round trains on its verdicts, the round's verifier
judges a small labelled audit set; below `min_accuracy` the round stops before training, with
the figures, instead of training on noise (a verifier weak on the task makes self-DPO lower the
student while its loss keeps falling: arXiv 2606.14629).

Audit rows: `{images, instruction, reference, response, label: 0|1, checks?}`; unjudged verdicts
count as wrong. With `checks` (the premise task's audit split has them) each check's accuracy is
reported too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.images import load_image
from ..data.jsonl_io import read_jsonl
from ..data.synthetic import resolve, synthetic_paths
from ..errors import BadInput
from ..method.verifier import CHECKS, model_verify
from ..prompts import load_template


class VerifierBelowGate(BadInput):
    """The round's verifier judged the audit set below the recipe's level: retrying cannot help."""


def audit_set(recipe: dict[str, Any], run_dir: str) -> list[dict[str, Any]]:
    """The gate's rows with absolute image paths: `verifier.gate.audit_set`, else the premise task's audit split."""
    given = recipe["verifier"]["gate"].get("audit_set")
    if given:
        path = resolve(given, run_dir)
    else:
        syn = recipe["data"]["synthetic"]
        paths = synthetic_paths(recipe, run_dir)
        if paths is None or syn["task"] != "premise" or int(syn["audit_size"]) == 0:
            raise BadInput(
                "verifier.gate needs verifier.gate.audit_set, or the premise task with data.synthetic.audit_size > 0"
            )
        path = paths["audit"]
    folder = Path(path).parent
    rows = [
        {**r, "images": [str(p if Path(p).is_absolute() else folder / p) for p in r["images"]]}
        for r in read_jsonl(path)
    ]
    if not rows:
        raise BadInput(f"verifier.gate: the audit set {path} is empty")
    return rows


def audit_figures(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of the verdicts against the labels (unjudged = wrong), precision and recall of a
    pass, and per check the share stated right (where the rows carry `checks`)."""
    n = len(rows)
    agree = sum(res["verdict"] == int(r["label"]) for r, res in zip(rows, results))
    tp = sum(res["verdict"] == 1 and int(r["label"]) == 1 for r, res in zip(rows, results))
    passed = sum(res["verdict"] == 1 for res in results)
    positives = sum(int(r["label"]) for r in rows)
    figures: dict[str, Any] = {
        "n": n,
        "accuracy": round(agree / n, 4),
        "unjudged": sum(res["verdict"] is None for res in results),
        "precision": round(tp / passed, 4) if passed else None,
        "recall": round(tp / positives, 4) if positives else None,
    }
    with_checks = [(r, res) for r, res in zip(rows, results) if r.get("checks")]
    if with_checks:
        figures["checks"] = {
            c: round(sum(res["checks"].get(c) == r["checks"][c] for r, res in with_checks) / len(with_checks), 4)
            for c in CHECKS
        }
    return figures


def describe(figures: dict[str, Any]) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    checks = ", ".join(f"{c} {pct(v)}" for c, v in figures.get("checks", {}).items())
    return (
        f"accuracy {pct(figures['accuracy'])} on {figures['n']} labelled rows ({figures['unjudged']} unjudged), "
        f"precision {pct(figures['precision'])}, recall {pct(figures['recall'])}"
        + (f"; per check: {checks}" if checks else "")
    )


def run_gate(payload: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Judge the audit set with the round's verifier (payload models.verifier); returns the figures,
    or raises VerifierBelowGate with them when the accuracy is below `min_accuracy`."""
    from ..models.engines import Engines

    recipe = payload["recipe"]
    cfg = recipe["verifier"]
    rows = audit_set(recipe, payload["run_dir"])
    data = recipe["data"]
    items = [
        {
            "images": [
                load_image(p, max_bytes=int(data["max_image_bytes"]), max_side=int(data["max_image_side"]))
                for p in r["images"]
            ],
            "instruction": r["instruction"],
            "response": r["response"],
            "reference": r["reference"],
        }
        for r in rows
    ]
    ctx.phase(f"verifier gate: judging {len(rows)} labelled rows", label="verifier gate")
    # The train job's own process: a private hf engine, closed before training needs the memory.
    engines = Engines()
    try:
        lm = engines.hf_role(payload["models"]["verifier"], recipe["model"])
        results = model_verify(
            lm, items, template=load_template("verifier", cfg.get("template")), max_new_tokens=int(cfg["max_new_tokens"]),
            seed=0, batch_size=int(recipe["sampling"]["batch_size"]),
        )  # fmt: skip
    finally:
        engines.clear()
    figures = audit_figures(rows, results)
    level = float(cfg["gate"]["min_accuracy"])
    if figures["accuracy"] < level:
        raise VerifierBelowGate(
            f"round {payload['round']} stopped before training: the verifier's {describe(figures)} is below the gate's "
            f"{100 * level:.1f} % (verifier.gate.min_accuracy); pairs judged by it would be noise"
        )
    ctx.log(f"verifier gate passed: {describe(figures)}")
    return figures
