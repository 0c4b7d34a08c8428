"""Stage `report`: the run's `report.md` and `accuracy.png`, from inputs.results.

The agent computes the results once, in Node (orchestrator/report/report-input.ts), and hands
them over as `results.json`: `{run_id, rounds: [RoundResult], benchmarks, paper, markdown, curves:
{round: [{step, margin}]}, heldout_note}`. This stage writes the markdown out as it is and draws the
plot: held-out accuracy per round (overall and by task) and the policy's DPO reward margin per
training step. A run without held-out accuracy gets Node's reason (`heldout_note`) in its place.
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

from ..context import StageContext
from ..data.jsonl_io import atomic_write_bytes


def render_plot(
    rounds: list[dict[str, Any]], curves: dict[str, list[dict[str, Any]]], heldout_note: str | None
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    evaluated = [r for r in rounds if r["heldout_accuracy"] is not None]
    if evaluated:
        xs = [r["round"] for r in evaluated]
        ax1.plot(xs, [r["heldout_accuracy"] for r in evaluated], marker="o", linewidth=2, label="overall")
        for task in sorted({t for r in evaluated for t in r["heldout_by_task"]}):
            pts = [
                (r["round"], r["heldout_by_task"][task])
                for r in evaluated
                if r["heldout_by_task"].get(task) is not None
            ]
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", linestyle="--", alpha=0.6, label=task)
        ax1.set_xticks(xs)
        ax1.legend(fontsize=7)
    else:
        ax1.text(
            0.5,
            0.5,
            textwrap.fill(heldout_note or "no held-out accuracy", 40),
            ha="center",
            va="center",
            transform=ax1.transAxes,
        )
    ax1.set(title="Held-out accuracy by round", xlabel="round", ylabel="accuracy", ylim=(0, 1))
    for rnd in sorted(curves, key=int):
        points = curves[rnd]
        ax2.plot([p["step"] for p in points], [p["margin"] for p in points], marker=".", label=f"round {rnd}")
    if curves:
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
    results = json.loads(Path(payload["inputs"]["results"]).read_text(encoding="utf-8"))
    ctx.check_cancelled()
    md, rounds = results["markdown"], results["rounds"]
    report_path, plot_path = payload["outputs"]["report"], payload["outputs"]["plot"]
    outputs = {
        "report": {
            "path": report_path,
            "rows": md.count("\n"),
            "sha256": atomic_write_bytes(report_path, md.encode("utf-8")),
        },
        "plot": {
            "path": plot_path,
            "rows": 1,
            "sha256": atomic_write_bytes(plot_path, render_plot(rounds, results["curves"], results["heldout_note"])),
        },
    }
    ctx.progress(1, 1, force=True)
    accuracies = [r["heldout_accuracy"] for r in rounds if r["heldout_accuracy"] is not None]
    metrics = {"rounds": len(rounds), "final_accuracy": accuracies[-1] if accuracies else None}
    return {"outputs": outputs, "metrics": metrics, "failed_items": []}
