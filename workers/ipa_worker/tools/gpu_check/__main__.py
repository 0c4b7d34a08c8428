"""CLI of the GPU check (the package docstring says what it runs).

It runs on a GPU or not at all: without usable CUDA it exits 2 with one line saying why, having
built nothing (the tiny CPU form runs only when asked for, `--cpu-tiny`). Its prerequisites are
checked first and every missing one named (prerequisites.py). Nothing is downloaded:
HF_HUB_OFFLINE=1 is set before any Hugging Face library loads.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers or huggingface_hub read it  # noqa: E402

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from . import __doc__ as DOC  # noqa: E402
from .prerequisites import problems  # noqa: E402
from .workloads import PARAMS, WORKLOADS  # noqa: E402

# Exit code of a check that could not run here (a missing prerequisite); 1 is a check that failed.
NOT_RUN = 2

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
    ap.add_argument(
        "--config", choices=sorted(WORKLOADS), default="7b", help="model configuration on the GPU (default 7b)"
    )
    ap.add_argument(
        "--cpu-tiny",
        action="store_true",
        help="the tiny configuration on the CPU instead: tests the code path, measures nothing about a GPU",
    )
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    ap.add_argument(
        "--work", default=None, help="folder for the checkpoint and the run (default: a temporary one, removed after)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the --work folder (a rerun reuses its checkpoint)")
    ap.add_argument(
        "--backend",
        choices=["hf", "vllm"],
        default="hf",
        help="generation.backend of the sample and verify stages (vllm: untested on a GPU)",
    )
    for flag, field in SIZES.items():
        ap.add_argument(flag, type=int, default=None, help=f"workload: {field.replace('_', ' ')}")
    return ap.parse_args(argv)


def _json_default(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return str(x)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse(argv)
    config = "tiny" if a.cpu_tiny else a.config
    cuda = not a.cpu_tiny
    w = dataclasses.replace(
        WORKLOADS[config], **{f: getattr(a, f) for f in SIZES.values() if getattr(a, f) is not None}
    )
    if w.image_side % 28:
        raise SystemExit(f"--image-side {w.image_side}: must be a multiple of 28 (patch 14 x merge 2)")
    work = Path(a.work) if a.work else Path(tempfile.gettempdir()) / "ipa-gpu-check"
    missing = problems(cuda=cuda, work=work, total_params=PARAMS[config])
    if missing:
        hint = " (the tiny CPU form, which measures no GPU: --cpu-tiny)" if cuda else ""
        print(f"gpu-check: not run: {'; '.join(missing)}{hint}", file=sys.stderr, flush=True)
        raise SystemExit(NOT_RUN)
    from .check import run_check
    from .table import table

    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="ipa-gpu-check-"))
    try:
        result = run_check(
            config,
            work.resolve(),
            w,
            backend=a.backend,
            device="cuda" if cuda else "cpu",
            log=lambda m: print(m, flush=True),
        )
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
