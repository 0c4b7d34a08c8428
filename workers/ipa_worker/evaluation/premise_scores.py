"""The premise task's evaluation figures: fact accuracy, compliance and success, overall and per
requirement family, and every item's three outcomes (for paired comparisons between runs)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..data.premise_truth import scores

FIGURES = ("facts_ok", "complies", "success")
NAMES = {"facts_ok": "fact_accuracy", "complies": "compliance", "success": "success"}


def score_item(spec: dict[str, Any], prediction: str) -> dict[str, bool]:
    return scores(spec, prediction)


def _rates(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    return {**{NAMES[f]: round(sum(r[f] for r in rows) / n, 6) if n else None for f in FIGURES}, "n": n}


def premise_summary(scored: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`{fact_accuracy, compliance, success, n, by_family: {family: {...}}, items: [{id, facts_ok, complies, success}]}`
    over the scored rows of metric premise; None when there are none."""
    rows = [s for s in scored if s.get("metric") == "premise"]
    if not rows:
        return None
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        families[r["task_type"]].append(r)
    return {
        **_rates(rows),
        "by_family": {f: _rates(v) for f, v in sorted(families.items())},
        "items": [{"id": r["id"], **{f: bool(r[f]) for f in FIGURES}} for r in rows],
    }
