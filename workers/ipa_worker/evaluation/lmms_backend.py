"""lmms-eval as an evaluation backend: one run on a round's policy, read into the eval document.

Per run, under the eval stage's `lmms_eval` output folder: `model/` (the policy as lmms-eval
loads it, see lmms_model_dir.py) and `results/` (lmms-eval's own output: the results file and
one samples file per task). Settings come from the recipe's `eval.lmms_eval`; the device and
the image area from `model`, as for every other stage.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..context import StageContext
from ..models.device import attn_implementation, resolve_device_dtype
from .lmms_command import lmms_eval_command
from .lmms_model_dir import prepare_model_dir
from .lmms_process import run_lmms_eval
from .lmms_results import parse_results


def evaluate_with_lmms(
    spec: dict[str, Any], recipe: dict[str, Any], out_dir: str, ctx: StageContext, *, batch_size: int
) -> dict[str, Any]:
    """Runs the recipe's lmms-eval tasks on `spec` (`{base, adapter}`); returns the parsed results
    (`by_benchmark`, `benchmarks`, `warnings`, `n_shot`, `seconds`) plus `results_file`."""
    lmms, model_cfg = recipe["eval"]["lmms_eval"], recipe["model"]
    device, _ = resolve_device_dtype(model_cfg)
    out = Path(out_dir)
    shutil.rmtree(out, ignore_errors=True)  # a retried job starts clean: its results are the newest
    view = prepare_model_dir(spec, out / "model")
    cmd = lmms_eval_command(
        lmms | {"batch_size": batch_size},
        str(view),
        str(out / "results"),
        device=device,
        min_pixels=int(model_cfg["min_pixels"]),
        max_pixels=int(model_cfg["max_pixels"]),
        flash_attention=attn_implementation(model_cfg["attn_implementation"], device) == "flash_attention_2",
    )
    results = run_lmms_eval(cmd, out / "results", ctx)
    parsed = parse_results(results, list(lmms["tasks"]), dict(lmms["metrics"]))
    for warning in parsed["warnings"]:
        ctx.log(warning, level="warning", source="lmms-eval")
    return parsed | {"results_file": str(results)}
