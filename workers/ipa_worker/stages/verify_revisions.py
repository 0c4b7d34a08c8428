"""Stage `verify_revisions`: verdicts on the refined responses (inputs: revisions, seeds; outputs: revision_verdicts).

The same verifier as `verify`, judging each revision's `refined` text; verdict rows carry the
revision's sample_id (`<source sample_id>/r`). With reviser.control_refinements and an audit,
the control refinements (the same response refined with empty feedback) are scored by the audit
only — never judged, never paired: `control_n` and `audit_control_true`, so the report can set
the reviser's true repair rate beside what the refine prompt does without feedback.
"""

from __future__ import annotations

from typing import Any

from ..context import StageContext
from ..data.jsonl_io import read_jsonl
from ..evaluation.verifier_audit import Auditor
from .common import seeds_by_id
from .verify import judge


def control_counts(payload: dict[str, Any], revisions: list[dict[str, Any]]) -> dict[str, int]:
    """How many control refinements there are and how many are truly right (empty without an audit)."""
    controls = [r for r in revisions if r.get("control_refined") is not None]
    auditor = Auditor(payload["recipe"], payload["run_dir"])
    if not controls or not auditor.enabled:
        return {}
    seeds = seeds_by_id(payload["inputs"]["seeds"])
    known = [r for r in controls if r["seed_id"] in seeds]
    return {
        "control_n": len(known),
        "audit_control_true": sum(auditor.correct(seeds[r["seed_id"]], r["control_refined"]) for r in known),
    }


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    revisions = read_jsonl(payload["inputs"]["revisions"])
    result = judge(payload, ctx, revisions, "refined", "revision_verdicts")
    result["metrics"].update(control_counts(payload, revisions))
    return result
