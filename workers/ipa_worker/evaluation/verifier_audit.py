"""The audit (`verifier.audit`): verdicts scored against a ground truth, for the report only.

exact: the truth of a text is "the normalised text equals the reference" (canonical short
answers). checker: the synthetic task's own checker gives the truth of each of the four checks
(`training/task_truth.py`), so every check of the verifier gets its own confusion counts, and
the truth of the verdict is "all four hold". The audit decides nothing: no verdict, pair or
seed depends on it.
"""

from __future__ import annotations

from typing import Any

from ..method.verifier import CHECKS, rule_verify
from ..training.task_truth import TaskTruth

_CELLS = {(1, 1): "tp", (1, 0): "fp", (0, 1): "fn", (0, 0): "tn"}


class Auditor:
    """Truth of texts for one recipe's audit mode (None: no audit)."""

    def __init__(self, recipe: dict[str, Any], run_dir: str):
        self.mode = recipe["verifier"]["audit"]
        self.truth = TaskTruth(recipe, run_dir) if self.mode == "checker" else None

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    def checks(self, seed: dict[str, Any], text: str) -> dict[str, bool] | None:
        return self.truth.checks(seed, text) if self.truth is not None else None

    def correct(self, seed: dict[str, Any], text: str) -> int:
        """1 when the text is truly right: all four checks (checker), or equal to the reference (exact)."""
        if self.truth is not None:
            return int(self.truth.success(seed, text))
        return rule_verify(text, seed["reference"], "exact")[0]

    def annotate(
        self, verdicts: list[dict[str, Any]], seeds: dict[str, dict[str, Any]], texts: dict[str, str]
    ) -> dict[str, int]:
        """Adds `truth` (and `truth_checks` with checker) to each verdict row; returns the counts."""
        for v in verdicts:
            seed, text = seeds[v["seed_id"]], texts[v["sample_id"]]
            checks = self.checks(seed, text)
            if checks is not None:
                v["truth_checks"] = checks
            v["truth"] = int(all(checks.values())) if checks is not None else self.correct(seed, text)
        counts = audit_counts(verdicts)
        if self.truth is not None:
            counts.update(check_audit_counts(verdicts))
        return counts


def audit_counts(verdicts: list[dict[str, Any]]) -> dict[str, int]:
    """Confusion counts of the verdicts against their `truth` (positive = v 1); unjudged apart;
    `audit_true`: texts that are truly correct, judged or not."""
    c = {"audit_tp": 0, "audit_fp": 0, "audit_fn": 0, "audit_tn": 0, "audit_unjudged": 0, "audit_true": 0}
    for v in verdicts:
        c["audit_true"] += v["truth"]
        if v["verdict"] is None:
            c["audit_unjudged"] += 1
        else:
            c[f"audit_{_CELLS[(v['verdict'], v['truth'])]}"] += 1
    return c


def check_audit_counts(verdicts: list[dict[str, Any]]) -> dict[str, int]:
    """Per check: `audit_<check>_{tp,fp,fn,tn,unjudged}` of the verifier's stated check (positive =
    "yes") against the checker's, over every verdict row (a check it did not state plainly is unjudged)."""
    c = {f"audit_{k}_{cell}": 0 for k in CHECKS for cell in ("tp", "fp", "fn", "tn", "unjudged")}
    for v in verdicts:
        for k in CHECKS:
            said = v["checks"].get(k)
            if said is None:
                c[f"audit_{k}_unjudged"] += 1
            else:
                c[f"audit_{k}_{_CELLS[(int(said), int(v['truth_checks'][k]))]}"] += 1
    return c
