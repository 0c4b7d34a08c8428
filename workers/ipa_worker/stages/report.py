"""Stage `report`: the run's results table (`report.md`) and plot (`accuracy.png`).

Reads whatever exists in the run directory: `jobs/*.json` done records, `eval/round-*.json`,
`round-*/train_metrics.jsonl` and the verdict files the done records point to. Anything missing
shows as "–", so a report of a partial or failed run still renders.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..data.jsonl_io import atomic_write_bytes, iter_jsonl
from ..serve.context import StageContext

DASH = "–"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return list(iter_jsonl(path))
    except (OSError, ValueError):
        return []


def _round_of(path: Path, pattern: str) -> int | None:
    m = re.fullmatch(pattern, path.name)
    return int(m.group(1)) if m else None


def collect(run_dir: str) -> dict[str, Any]:
    """Per-round numbers: `{"rounds": {r: {...}}, "evals": {r: doc}, "train": {r: [rows]}}`."""
    root = Path(run_dir)
    rounds: dict[int, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    passes: dict[int, list[int]] = defaultdict(list)
    for rec_path in sorted((root / "jobs").glob("*.json")):
        rec = _load_json(rec_path)
        if not isinstance(rec, dict) or "stage" not in rec:
            continue
        r, stage = int(rec.get("round", 0)), rec["stage"]
        outputs, metrics = rec.get("outputs") or {}, rec.get("metrics") or {}
        rows = lambda name: (outputs.get(name) or {}).get("rows", 0)  # noqa: E731
        acc = rounds[r]
        if stage == "prepare":
            acc["seeds_in"] += metrics.get("seeds", rows("seeds"))
        elif stage == "sample":
            acc["seeds_in"] += metrics.get("seeds", 0) + metrics.get("failed_seeds", 0)
            acc["normal"] += metrics.get("normal", 0)
            acc["contrastive"] += metrics.get("contrastive", 0)
        elif stage == "revise":
            acc["refined"] += rows("revisions")
        elif stage == "verify":
            path = (outputs.get("verdicts") or {}).get("path")
            if path:
                passes[r].extend(int(v.get("verdict", 0)) for v in _jsonl(Path(path)))
        elif stage == "pair":
            acc["pairs"] += rows("pairs")
            acc["feedback_pairs"] += rows("feedback_pairs")
            acc["challenging"] += rows("challenging")
    for r, vs in passes.items():
        rounds[r]["pass_rate"] = sum(vs) / len(vs) if vs else None
    evals = {}
    for p in (root / "eval").glob("round-*.json"):
        r = _round_of(p, r"round-(\d+)\.json")
        doc = _load_json(p)
        if r is not None and isinstance(doc, dict):
            evals[r] = doc
            _ = rounds[r]  # a round with only an eval still gets a line
    train = {}
    for p in root.glob("round-*/train_metrics.jsonl"):
        r = _round_of(p.parent, r"round-(\d+)")
        if r is not None:
            train[r] = _jsonl(p)
            _ = rounds[r]
    return {"rounds": {r: dict(v) for r, v in sorted(rounds.items())}, "evals": evals, "train": train}


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return DASH
    if pct:
        return f"{100 * float(v):.1f}%"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.3f}"
    return str(v)


def _reward_accuracy(rows: list[dict[str, Any]]) -> float | None:
    vals = [r["rewards/accuracies"] for r in rows if r.get("model", "policy") == "policy" and isinstance(r.get("rewards/accuracies"), (int, float))]
    return vals[-1] if vals else None


def render_markdown(data: dict[str, Any], run_id: str = "") -> str:
    rounds, evals, train = data["rounds"], data["evals"], data["train"]
    head = [
        "round", "seeds in", "normal", "contrastive", "refined", "verifier pass rate", "response pairs",
        "feedback pairs", "challenging left", "DPO reward acc.", "held-out acc.",
    ]  # fmt: skip
    lines = [f"# IPA report{' — ' + run_id if run_id else ''}", "", "## Rounds", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r, acc in rounds.items():
        ev = evals.get(r, {})
        stage_cols = [acc.get(k) if r > 0 else None for k in ("normal", "contrastive", "refined")]
        cells = [
            str(r),
            _fmt(acc.get("seeds_in")),
            *[_fmt(v) for v in stage_cols],
            _fmt(acc.get("pass_rate"), pct=True),
            *[_fmt(acc.get(k) if r > 0 else None) for k in ("pairs", "feedback_pairs", "challenging")],
            _fmt(_reward_accuracy(train.get(r, [])), pct=True),
            _fmt(ev.get("overall"), pct=True),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    tasks = sorted({t for ev in evals.values() for t in (ev.get("by_task") or {})})
    lines += ["", "## Held-out accuracy by task type", ""]
    if tasks:
        lines += ["| round | " + " | ".join(tasks) + " | overall | n |", "|" + "---|" * (len(tasks) + 3)]
        for r in sorted(evals):
            ev = evals[r]
            cells = [_fmt((ev.get("by_task") or {}).get(t), pct=True) for t in tasks]
            lines.append(f"| {r} | " + " | ".join(cells) + f" | {_fmt(ev.get('overall'), pct=True)} | {_fmt(ev.get('n'))} |")
    else:
        lines.append(DASH)
    lines += ["", "Round 0 is the initial model (before any preference round); “–” marks numbers this run has not produced.", ""]
    return "\n".join(lines)


def render_plot(data: dict[str, Any]) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals, train = data["evals"], data["train"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    rs = sorted(r for r in evals if evals[r].get("overall") is not None)
    if rs:
        ax1.plot(rs, [evals[r]["overall"] for r in rs], marker="o", linewidth=2, label="overall")
        for t in sorted({t for r in rs for t in (evals[r].get("by_task") or {})}):
            pts = [(r, evals[r]["by_task"].get(t)) for r in rs if (evals[r].get("by_task") or {}).get(t) is not None]
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", linestyle="--", alpha=0.6, label=t)
        ax1.set_xticks(rs)
        ax1.legend(fontsize=7)
    else:
        ax1.text(0.5, 0.5, "no evaluation yet", ha="center", va="center", transform=ax1.transAxes)
    ax1.set(title="Held-out accuracy by round", xlabel="round", ylabel="accuracy", ylim=(0, 1))
    plotted = False
    for r in sorted(train):
        pts = [(row.get("step"), row.get("rewards/margins")) for row in train[r] if row.get("model", "policy") == "policy"]
        pts = [(s, m) for s, m in pts if isinstance(s, (int, float)) and isinstance(m, (int, float))]
        if pts:
            ax2.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=f"round {r}")
            plotted = True
    if plotted:
        ax2.legend(fontsize=7)
    else:
        ax2.text(0.5, 0.5, "no DPO training logged", ha="center", va="center", transform=ax2.transAxes)
    ax2.set(title="DPO reward margin (policy)", xlabel="step", ylabel="rewards/margins")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    data = collect(payload["run_dir"])
    ctx.check_cancelled()
    md = render_markdown(data, payload.get("run_id", ""))
    report_path, plot_path = payload["outputs"]["report"], payload["outputs"]["plot"]
    outputs = {
        "report": {"path": report_path, "rows": md.count("\n"), "sha256": atomic_write_bytes(report_path, md.encode("utf-8"))},
        "plot": {"path": plot_path, "rows": 1, "sha256": atomic_write_bytes(plot_path, render_plot(data))},
    }
    ctx.progress(1, 1, force=True)
    last = max(data["evals"]) if data["evals"] else None
    metrics = {"rounds": len(data["rounds"]), "final_accuracy": data["evals"][last].get("overall") if last is not None else None}
    return {"outputs": outputs, "metrics": metrics, "failed_items": []}
