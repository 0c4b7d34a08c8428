"""The built-in evaluator: local JSONL benchmarks, greedy answers, accuracy by task and benchmark.

Benchmark rows: `{"id", "images"|"image", "question", "answer", "metric", "task_type"?}` with
metric exact | yesno | contains | anls | premise; image paths are relative to the benchmark file.
premise rows (the premise task's evaluation splits) also carry `spec` and are scored by its
checker: the score is success, and the result gains `premise` (evaluation/premise_scores.py).
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.images import load_image
from ..data.jsonl_io import iter_jsonl
from ..errors import BadInput
from ..method.verifier import drop_articles
from ..models.messages import user_messages
from ..textdist import edit_distance
from .premise_scores import premise_summary, score_item

METRICS = ("exact", "yesno", "contains", "anls", "premise")
_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation or articles (a last "a" stays: it may be the answer), number words as digits, single spaces."""
    words = drop_articles(str(text).lower().translate(_PUNCT).split())
    return " ".join(_NUMBER_WORDS.get(w, w) for w in words)


def _yes_no(text: str) -> str | None:
    for w in normalize_answer(text).split():
        if w in ("yes", "no"):
            return w
    return None


def score(prediction: str, answer: str | list[str], metric: str) -> float:
    """Score in [0, 1]; a list of acceptable answers scores its best match."""
    if isinstance(answer, list):
        return max((score(prediction, a, metric) for a in answer), default=0.0)
    pred, ans = normalize_answer(prediction), normalize_answer(str(answer))
    if not pred:  # an empty prediction never scores, whatever the answer normalises to
        return 0.0
    if metric == "exact":
        return float(pred == ans)
    if metric == "yesno":
        return float(_yes_no(prediction) is not None and _yes_no(prediction) == _yes_no(str(answer)))
    if metric == "contains":
        return float(bool(ans) and f" {ans} " in f" {pred} ")
    if metric == "premise":
        raise BadInput("premise rows are scored by their spec (evaluation/premise_scores.py), not by an answer string")
    if metric == "anls":  # average normalised Levenshtein similarity, 0.5 threshold
        a, p = str(answer).strip().lower(), str(prediction).strip().lower()
        if not a and not p:
            return 1.0
        nl = edit_distance(a, p) / max(len(a), len(p))
        return 1.0 - nl if nl < 0.5 else 0.0
    raise BadInput(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")


@dataclass
class Benchmark:
    name: str
    path: str
    max_rows: int | None = None


def load_benchmark(bench: Benchmark) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows with absolute image paths, and `{id, reason}` for rows that cannot be evaluated."""
    path = Path(bench.path)
    if not path.is_file():
        raise BadInput(f"benchmark {bench.name}: {path} not found")
    rows, bad = [], []
    for i, row in enumerate(iter_jsonl(path)):
        if bench.max_rows is not None and len(rows) >= bench.max_rows:
            break
        rid = f"{bench.name}/{row.get('id', i)}"
        refs = row.get("images", row.get("image"))
        refs = refs if isinstance(refs, list) else [refs] if refs else []
        metric = row.get("metric", "exact")
        if (
            not refs
            or "question" not in row
            or "answer" not in row
            or metric not in METRICS
            or (metric == "premise" and "spec" not in row)
        ):
            bad.append(
                {"id": rid, "reason": "row needs image(s), question, answer and a known metric (premise: and spec)"}
            )
            continue
        rows.append(
            {
                "id": rid,
                "benchmark": bench.name,
                "images": [str(p if Path(p).is_absolute() else path.parent / p) for p in refs],
                "question": str(row["question"]),
                "answer": row["answer"],
                "metric": metric,
                "task_type": row.get("task_type", "general"),
                **({"spec": row["spec"]} if metric == "premise" else {}),
            }
        )
    return rows, bad


def evaluate(
    lm,
    benchmarks: list[Benchmark],
    *,
    max_new_tokens: int,
    batch_size: int,
    max_image_bytes: int,
    max_image_side: int,
    on_batch: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Greedy answers on every benchmark row; accuracy overall, by task type and by benchmark."""
    items, failed = [], []
    for bench in benchmarks:
        rows, bad = load_benchmark(bench)
        failed.extend(bad)
        for row in rows:
            try:
                row["_images"] = [
                    load_image(p, max_bytes=max_image_bytes, max_side=max_image_side) for p in row["images"]
                ]
            except BadInput as exc:
                failed.append({"id": row["id"], "reason": str(exc)})
                continue
            items.append(row)
    prompts = [{"images": r["_images"], "messages": user_messages(r["question"], len(r["_images"]))} for r in items]
    answers = (
        lm.generate(
            prompts, temperature=0.0, max_new_tokens=max_new_tokens, seed=0, batch_size=batch_size, on_batch=on_batch
        )
        if prompts
        else []
    )
    scored = []
    for r, a in zip(items, answers):
        if a.get("error"):  # an image the processor refuses fails its item, not the evaluation
            failed.append({"id": r["id"], "reason": f"{', '.join(r['images'])}: {a['error']}"})
            continue
        row = {
            "id": r["id"],
            "benchmark": r["benchmark"],
            "task_type": r["task_type"],
            "question": r["question"],
            "answer": r["answer"],
            "prediction": a["text"],
            "metric": r["metric"],
        }
        if r["metric"] == "premise":
            outcome = score_item(r["spec"], a["text"])
            row.update(outcome, score=float(outcome["success"]))
        else:
            row["score"] = score(a["text"], r["answer"], r["metric"])
        scored.append(row)
    return summarize(scored) | {"failed_items": failed}


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 6) if xs else None


def summarize(scored: list[dict[str, Any]]) -> dict[str, Any]:
    by_task: dict[str, list[float]] = defaultdict(list)
    by_bench: dict[str, list[float]] = defaultdict(list)
    for s in scored:
        by_task[s["task_type"]].append(s["score"])
        by_bench[s["benchmark"]].append(s["score"])
    return {
        "overall": _mean([s["score"] for s in scored]),
        "by_task": {k: _mean(v) for k, v in sorted(by_task.items())},
        "by_benchmark": {k: _mean(v) for k, v in sorted(by_bench.items())},
        "counts": {
            "by_task": {k: len(v) for k, v in sorted(by_task.items())},
            "by_benchmark": {k: len(v) for k, v in sorted(by_bench.items())},
        },
        "n": len(scored),
        "examples": scored[:5],
        "premise": premise_summary(scored),
    }
