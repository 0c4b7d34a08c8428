"""Giving memory back after a model is dropped (a training run, a replaced vLLM engine)."""

from __future__ import annotations

import gc


def release_memory() -> None:
    """Collects the dropped objects and returns CUDA's cached blocks, so the next model fits."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
