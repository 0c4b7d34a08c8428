"""The lmms-eval command line for one evaluation of a round's policy.

`python -m lmms_eval eval --model qwen2_vl --model_args pretrained=DIR,device=...,min_pixels=...
--tasks a,b --batch_size N [--limit L] [--num_fewshot K] [--include_path P] --output_path OUT
--log_samples`, run with the worker's own interpreter. The Qwen2-VL backends accept a fixed set of
keyword arguments and reject anything else, and they default to CUDA, so the device is always
passed. Their dtype is the checkpoint's own (`torch_dtype="auto"`).
"""

from __future__ import annotations

import sys
from typing import Any

from ..contract import schema_enum
from ..errors import BadInput

BACKENDS = tuple(schema_enum("eval", "lmms_eval", "model"))


def model_args(
    backend: str, pretrained: str, *, device: str, min_pixels: int, max_pixels: int, flash_attention: bool
) -> str:
    """The `--model_args` string: the backends differ only in how they take the attention kernel."""
    if backend not in BACKENDS:
        raise BadInput(f"eval.lmms_eval.model {backend!r}: one of {', '.join(BACKENDS)}")
    if "," in pretrained or "=" in pretrained:
        raise BadInput(f"cannot pass {pretrained!r} to lmms-eval: its model_args split on ',' and '='")
    args = [
        f"pretrained={pretrained}",
        f"device={device}",
        f"device_map={device}",
        f"min_pixels={int(min_pixels)}",
        f"max_pixels={int(max_pixels)}",
    ]
    if flash_attention:
        args.append("use_flash_attention_2=True" if backend == "qwen2_vl" else "attn_implementation=flash_attention_2")
    return ",".join(args)


def lmms_eval_command(
    lmms: dict[str, Any],
    pretrained: str,
    output_path: str,
    *,
    device: str,
    min_pixels: int,
    max_pixels: int,
    flash_attention: bool = False,
    python: str = sys.executable,
) -> list[str]:
    """The command for the recipe's `eval.lmms_eval` settings on the folder `pretrained`."""
    tasks = list(lmms["tasks"])
    if not tasks:
        raise BadInput("eval.lmms_eval.tasks is empty: lmms-eval needs at least one task")
    backend = lmms["model"]
    cmd = [
        python, "-m", "lmms_eval", "eval",
        "--model", backend,
        "--model_args", model_args(backend, pretrained, device=device, min_pixels=min_pixels, max_pixels=max_pixels, flash_attention=flash_attention),
        "--tasks", ",".join(tasks),
        "--batch_size", str(int(lmms["batch_size"])),
        "--output_path", str(output_path),
        "--log_samples",
        "--verbosity", "INFO",
    ]  # fmt: skip
    if lmms.get("limit") is not None:
        cmd += ["--limit", str(lmms["limit"])]
    if lmms.get("num_fewshot") is not None:
        cmd += ["--num_fewshot", str(int(lmms["num_fewshot"]))]
    if lmms.get("include_path"):
        cmd += ["--include_path", str(lmms["include_path"])]
    return cmd
