"""Where and how a model is loaded: device, dtype and attention kernel from the recipe's `model` block."""

from __future__ import annotations

from typing import Any

from ..errors import BadInput

DTYPES = ("float32", "bfloat16", "float16")


def resolve_device_dtype(model_cfg: dict[str, Any]) -> tuple[str, str]:
    """("cuda"|"cpu", dtype name): auto = CUDA + bfloat16 when a GPU is there, else CPU + float32."""
    import torch

    device = model_cfg["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInput("model.device is cuda but no CUDA device is available")
    dtype = model_cfg["dtype"]
    if dtype == "auto":
        dtype = "bfloat16" if device == "cuda" else "float32"
    if dtype not in DTYPES:
        raise BadInput(f"unknown model.dtype {dtype!r}")
    return device, dtype


def attn_implementation(name: str, device: str) -> str:
    """The recipe's attention kernel, or sdpa where flash-attn is not installed or not on CUDA."""
    if name == "flash_attention_2":
        try:
            import flash_attn  # noqa: F401
        except ImportError:
            return "sdpa"  # not installed: the next best kernel rather than a failed job
        if device != "cuda":
            return "sdpa"
    return name
