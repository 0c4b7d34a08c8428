"""The lmms-eval adapter: the command line that evaluates a checkpoint with lmms-eval, and a
reader for the results file it writes (the public benchmarks the paper reports).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import BadInput


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
