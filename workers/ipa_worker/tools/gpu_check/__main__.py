"""CLI of the GPU check (the package docstring says what it runs)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from . import __doc__ as DOC
from .check import run_check
from .table import table
from .stage_runs import WORKLOADS

# Options that resize the workload: flag -> Workload field.
SIZES = {
    "--seeds": "seeds",
    "--image-side": "image_side",
    "--sample-tokens": "sample_tokens",
    "--sample-batch": "sample_batch",
    "--verify-tokens": "verify_tokens",
    "--dpo-batch": "dpo_batch",
    "--dpo-steps": "dpo_steps",
    "--max-length": "max_length",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m ipa_worker.tools.gpu_check", description=DOC.splitlines()[0])
    ap.add_argument("--config", choices=sorted(WORKLOADS), default=None, help="default: 7b with CUDA, tiny without")
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    ap.add_argument("--work", default=None, help="folder for the checkpoint and the run (default: a temporary one, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the --work folder (a rerun reuses its checkpoint)")
    ap.add_argument("--backend", choices=["hf", "vllm"], default="hf", help="generation.backend of the sample and verify stages (vllm: untested on a GPU)")
    for flag, field in SIZES.items():
        ap.add_argument(flag, type=int, default=None, help=f"workload: {field.replace('_', ' ')}")
    return ap.parse_args(argv)


def _json_default(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return str(x)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    a = parse(argv)
    config = a.config or ("7b" if torch.cuda.is_available() else "tiny")
    w = dataclasses.replace(WORKLOADS[config], **{f: getattr(a, f) for f in SIZES.values() if getattr(a, f) is not None})
    if w.image_side % 28:
        raise SystemExit(f"--image-side {w.image_side}: must be a multiple of 28 (patch 14 x merge 2)")
    if config == "7b" and not torch.cuda.is_available():
        print("warning: the 7b configuration on a CPU needs about 40 GB of memory and hours", flush=True)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="ipa-gpu-check-"))
    try:
        result = run_check(config, work.resolve(), w, backend=a.backend, log=lambda m: print(m, flush=True))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(result))
    if a.out:
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=_json_default) + "\n")
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
