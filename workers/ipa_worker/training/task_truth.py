"""The synthetic task's ground truth by seed id, for the audit, the evaluation and the oracle baseline.

Read from the task's own files by seed id: seed rows carry only the seed fields, so no stage that
samples, verifies or revises ever sees it. In the training layer because the canonical task's
checks live beside its warm-up examples (training/synthetic_roles.py).
"""

from __future__ import annotations

from typing import Any

from ..data.premise_task import ideal_answer, specs_by_id
from ..data.premise_truth import checks as premise_checks
from ..data.synthetic import synthetic_paths
from ..errors import BadInput
from .synthetic_roles import ground_truth_checks


class TaskTruth:
    """The synthetic task's ground truth for rows of its train split (the seeds).

    premise: the checker's four checks against the item's scene (`premise_truth.checks`) and the
    checker-made ideal answer; canonical: the four checks from the task's structure
    (`synthetic_roles.ground_truth_checks`), whose ideal answer is the reference itself.
    """

    def __init__(self, recipe: dict[str, Any], run_dir: str):
        paths = synthetic_paths(recipe, run_dir)
        if paths is None:
            raise BadInput(
                "the synthetic task's ground truth (verifier.audit: checker, training.objective: sft_oracle) needs data.synthetic.enabled"
            )
        self.task = recipe["data"]["synthetic"]["task"]
        self.specs = specs_by_id(paths["train"]) if self.task == "premise" else {}

    def checks(self, seed: dict[str, Any], response: str) -> dict[str, bool]:
        if self.task == "premise":
            return premise_checks(self.specs[seed["id"]], response)
        return ground_truth_checks(seed["task_type"], seed["reference"], response)

    def success(self, seed: dict[str, Any], response: str) -> bool:
        return all(self.checks(seed, response).values())

    def ideal(self, seed: dict[str, Any]) -> str:
        """The answer an oracle would give: checker-made for the premise task, else the reference."""
        if self.task == "premise":
            spec = self.specs[seed["id"]]
            return ideal_answer(spec, spec["facts"])
        return seed["reference"]
