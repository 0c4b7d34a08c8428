"""The built-in evaluator (local JSONL benchmarks, greedy answers) and the lmms-eval adapter.

Benchmark rows: `{"id", "images"|"image", "question", "answer", "metric", "task_type"?}` with
metric exact | yesno | contains | anls; image paths are relative to the benchmark file.
"""

from __future__ import annotations

import json
import string
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..data.images import load_image
from ..data.jsonl_io import iter_jsonl
from ..errors import BadInput
from ..models.generation import generate, user_messages
from ..textdist import edit_distance

METRICS = ("exact", "yesno", "contains", "anls")
_NUMBER_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = {"a", "an", "the"}
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation or articles, number words as digits, single spaces."""
    words = str(text).lower().translate(_PUNCT).split()
    return " ".join(_NUMBER_WORDS.get(w, w) for w in words if w not in _ARTICLES)


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
    if metric == "exact":
        return float(pred == ans)
    if metric == "yesno":
        return float(_yes_no(prediction) is not None and _yes_no(prediction) == _yes_no(str(answer)))
    if metric == "contains":
        return float(bool(ans) and f" {ans} " in f" {pred} ")
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
        if not refs or "question" not in row or "answer" not in row or metric not in METRICS:
            bad.append({"id": rid, "reason": "row needs image(s), question, answer and a known metric"})
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
            }
        )
    return rows, bad


def evaluate(
    lm,
    benchmarks: list[Benchmark],
    *,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    max_image_bytes: int = 32 << 20,
    max_image_side: int = 8192,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Greedy answers on every benchmark row; accuracy overall, by task type and by benchmark."""
    items, failed = [], []
    for bench in benchmarks:
        rows, bad = load_benchmark(bench)
        failed.extend(bad)
        for row in rows:
            try:
                row["_images"] = [load_image(p, max_bytes=max_image_bytes, max_side=max_image_side) for p in row["images"]]
            except BadInput as exc:
                failed.append({"id": row["id"], "reason": str(exc)})
                continue
            items.append(row)
    prompts = [{"images": r["_images"], "messages": user_messages(r["question"], len(r["_images"]))} for r in items]
    answers = (
        generate(lm, prompts, temperature=0.0, max_new_tokens=max_new_tokens, seed=0, batch_size=batch_size, on_batch=on_batch)
        if prompts
        else []
    )
    scored = []
    for r, a in zip(items, answers):
        scored.append(
            {
                "id": r["id"],
                "benchmark": r["benchmark"],
                "task_type": r["task_type"],
                "question": r["question"],
                "answer": r["answer"],
                "prediction": a["text"],
                "metric": r["metric"],
                "score": score(a["text"], r["answer"], r["metric"]),
            }
        )
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
        "counts": {"by_task": {k: len(v) for k, v in sorted(by_task.items())}, "by_benchmark": {k: len(v) for k, v in sorted(by_bench.items())}},
        "n": len(scored),
        "examples": scored[:5],
    }


# ---------------------------------------------------------------- lmms-eval adapter


def lmms_eval_command(model_dir: str, tasks: list[str], out_dir: str, *, model: str = "qwen2_vl", batch_size: int = 1) -> list[str]:
    """The lmms-eval command line for a checkpoint (run it where lmms-eval is installed):

    python -m lmms_eval --model qwen2_vl --model_args pretrained=DIR --tasks pope,mme
        --batch_size 1 --output_path OUT --log_samples

    A LoRA policy must be merged into a full checkpoint first: lmms-eval loads `pretrained` only.
    """
    if not tasks:
        raise BadInput("lmms-eval needs at least one task")
    return [
        "python", "-m", "lmms_eval",
        "--model", model,
        "--model_args", f"pretrained={model_dir}",
        "--tasks", ",".join(tasks),
        "--batch_size", str(batch_size),
        "--output_path", str(out_dir),
        "--log_samples",
    ]  # fmt: skip


def _find_results(path: Path) -> Path:
    if path.is_file():
        return path
    candidates = sorted(path.rglob("*results*.json"), key=lambda p: (p.stat().st_mtime, str(p)))
    if not candidates:
        raise BadInput(f"no lmms-eval results JSON under {path}")
    return candidates[-1]


def parse_lmms_eval_results(path: str) -> dict[str, Any]:
    """`{"tasks": {task: {metric: value}}, "n_samples": {task: n}, "model_args"}` from an lmms-eval results file.

    lmms-eval keys metrics as "<metric>,<filter>" with "<metric>_stderr,<filter>" beside them;
    we keep the numeric metrics, drop stderr and aliases, and keep the filter only when it is not "none".
    `path` may be the results file or the --output_path folder (the newest results file is read).
    """
    file = _find_results(Path(path))
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read lmms-eval results {file}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise BadInput(f"{file} has no 'results' object: not an lmms-eval results file")
    tasks: dict[str, dict[str, float]] = {}
    for task, entries in doc["results"].items():
        if not isinstance(entries, dict):
            continue
        metrics = {}
        for key, value in entries.items():
            name, _, flt = key.partition(",")
            if name == "alias" or name.endswith("_stderr") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            metrics[name if flt in ("", "none") else f"{name},{flt}"] = float(value)
        tasks[task] = metrics
    n_samples = {}
    for task, n in (doc.get("n-samples") or {}).items():
        n_samples[task] = n.get("effective", n.get("original")) if isinstance(n, dict) else n
    config = doc.get("config") or {}
    return {"tasks": tasks, "n_samples": n_samples, "model_args": config.get("model_args"), "file": str(file)}
