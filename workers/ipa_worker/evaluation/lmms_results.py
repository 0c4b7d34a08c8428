"""Reading lmms-eval's results file into the eval document's `by_benchmark` and `benchmarks`.

lmms-eval 0.7 writes `<output_path>/<model>/<timestamp>_results.json`. Under `results`, every task
and every group has keys `"<metric>,<filter>"` (e.g. `"pope_accuracy,none"`) beside their standard
errors (`"<metric>_stderr,<filter>"`, `"..._stderr_clt,..."`), an `alias`, and sometimes strings
such as "N/A". `group_subtasks` tells groups from tasks; `n-samples` counts the documents of leaf
tasks. Values are kept exactly as lmms-eval wrote them (its own scale: POPE accuracy is a fraction,
MME a score out of 2000); the metric name travels with each number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import BadInput


def metric_values(entry: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics of one results entry, in file order; "<metric>" for the default filter
    "none", "<metric>,<filter>" otherwise. Standard errors, aliases and non-numbers are dropped."""
    out: dict[str, float] = {}
    for key, value in entry.items():
        name, _, flt = key.partition(",")
        if name == "alias" or "_stderr" in name or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[name if flt in ("", "none") else f"{name},{flt}"] = float(value)
    return out


def _n_samples(doc: dict[str, Any]) -> dict[str, int]:
    out = {}
    for task, n in (doc.get("n-samples") or {}).items():
        value = n.get("effective", n.get("original")) if isinstance(n, dict) else n
        if isinstance(value, (int, float)):
            out[task] = int(value)
    return out


def _leaves(name: str, groups: dict[str, list[str]]) -> list[str]:
    subs = groups.get(name)
    if not subs:
        return [name]
    return [leaf for s in subs for leaf in _leaves(s, groups)]


def _headline(name: str, metrics: dict[str, float], chosen: str | None) -> tuple[str | None, float | None, str | None]:
    """(metric, value, warning): the recipe's choice for this benchmark, else its first metric."""
    if chosen is not None:
        if chosen in metrics:
            return chosen, metrics[chosen], None
        warning = f"eval.lmms_eval.metrics.{name}: {chosen!r} is not among its metrics ({', '.join(metrics) or 'none'}); showing the first"
    else:
        warning = None
    if not metrics:
        return None, None, warning
    first = next(iter(metrics))
    return first, metrics[first], warning


def _entry(
    name: str, doc: dict[str, Any], groups: dict[str, list[str]], n: dict[str, int], chosen: str | None
) -> tuple[dict[str, Any], str | None]:
    metrics = metric_values(doc["results"].get(name) or {})
    metric, value, warning = _headline(name, metrics, chosen)
    better = (doc.get("higher_is_better") or {}).get(name) or {}
    entry: dict[str, Any] = {
        "backend": "lmms_eval",
        "kind": "group" if name in groups else "task",
        "metric": metric,
        "value": value,
        "higher_is_better": better.get(metric.partition(",")[0]) if metric else None,
        "n": sum(n.get(leaf, 0) for leaf in _leaves(name, groups)) or None,
        "metrics": metrics,
    }
    if name in groups:
        entry["subtasks"] = {}
        for sub in groups[name]:
            sub_entry, _ = _entry(sub, doc, groups, n, None)
            entry["subtasks"][sub] = {k: sub_entry[k] for k in ("kind", "metric", "value", "n", "metrics")}
    return entry, warning


def read_results_file(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read lmms-eval results {file}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise BadInput(f"{file} has no 'results' object: not an lmms-eval results file")
    return doc


def parse_results(path: str | Path, requested: list[str], chosen_metrics: dict[str, str]) -> dict[str, Any]:
    """`{by_benchmark, benchmarks, warnings, n_shot, seconds}` for the requested tasks and groups.

    by_benchmark: one number per requested name (its headline metric); a group lmms-eval does not
    aggregate (no metrics of its own) gives way to its tasks. benchmarks: how each number was
    measured (metric, higher_is_better, n, every metric, and a group's subtasks).
    """
    doc = read_results_file(path)
    groups = {g: list(s) for g, s in (doc.get("group_subtasks") or {}).items() if s}
    n = _n_samples(doc)
    by_benchmark: dict[str, float | None] = {}
    benchmarks: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    missing = [name for name in requested if name not in doc["results"]]
    if missing:
        raise BadInput(f"lmms-eval results {path} have no entry for {', '.join(missing)}")
    for name in requested:
        entry, warning = _entry(name, doc, groups, n, chosen_metrics.get(name))
        if warning:
            warnings.append(warning)
        if entry["value"] is None and entry["kind"] == "group":
            for sub in entry["subtasks"]:
                leaf, _ = _entry(sub, doc, groups, n, chosen_metrics.get(sub))
                benchmarks[sub] = leaf
                by_benchmark[sub] = leaf["value"]
        benchmarks[name] = entry
        if entry["value"] is not None or entry["kind"] == "task":
            by_benchmark[name] = entry["value"]
    seconds = doc.get("total_evaluation_time_seconds")
    try:
        seconds = round(float(seconds), 3) if seconds is not None else None  # written as a string
    except ValueError:
        seconds = None
    return {
        "by_benchmark": by_benchmark,
        "benchmarks": benchmarks,
        "warnings": warnings,
        "n_shot": doc.get("n-shot") or {},
        "seconds": seconds,
    }
