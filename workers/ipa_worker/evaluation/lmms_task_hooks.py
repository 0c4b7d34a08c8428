"""The functions a local lmms-eval task written by `ipa_worker.tools.lmms_task` calls.

lmms-eval imports them by module path (`!function ipa_worker.evaluation.lmms_task_hooks.<name>`
in the task YAML), inside its own process; the eval stage puts this package on that process's
PYTHONPATH. A document is one row of our benchmark format: `{id, images, question, answers,
metric, task_type}`, images as `datasets` Image features. Scoring is the built-in evaluator's
(`benchmarks.score`), so a local benchmark gets the same numbers from either backend as long as
the answers are the same.
"""

from __future__ import annotations

from typing import Any

from .benchmarks import score


def doc_to_visual(doc: dict[str, Any]) -> list:
    """The document's images as RGB PIL images, in order."""
    return [image.convert("RGB") for image in doc["images"]]


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> str:
    """The question, with the task's optional pre/post prompt around it."""
    kw = lmms_eval_specific_kwargs or {}
    return f"{kw.get('pre_prompt', '')}{doc['question']}{kw.get('post_prompt', '')}"


def doc_to_target(doc: dict[str, Any]) -> str:
    """The first acceptable answer (what lmms-eval shows as the target in its sample logs)."""
    return doc["answers"][0]


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """`{"accuracy": score}` of the model's answer against every acceptable answer."""
    return {"accuracy": score(results[0], list(doc["answers"]), doc["metric"])}
