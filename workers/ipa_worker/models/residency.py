"""How many copies of a base checkpoint's weights this process holds, counted in memory, not in
any registry: the distinct storages of tensors equal to the checkpoint's token embedding.

Every resident copy of a base holds its embedding once, whatever wraps it (a PEFT model, a
trainer, a leftover reference), so the count is the number of copies of the base weights. It
scans every live tensor (`gc`): for tests and for the out-of-memory report, not for a hot path.
"""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

_ROWS = 4  # rows of the embedding compared: enough to tell a copy of this base from any other tensor


def _reference(base: str):
    """The first rows of the checkpoint's token embedding, and its full shape, read from its safetensors files."""
    from safetensors import safe_open

    for f in sorted(Path(base).glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            for key in st.keys():
                if key.endswith("embed_tokens.weight"):
                    t = st.get_slice(key)
                    return t[:_ROWS], tuple(t.get_shape())
    raise FileNotFoundError(f"{base}: no embed_tokens weight in its safetensors files")


def resident_copies(base: str) -> int:
    """Distinct storages in this process that hold `base`'s token embedding: its resident copies.

    An engine may pad the vocabulary (vLLM rounds it up for its kernels), so a match is any 2-D
    tensor of the embedding's width whose first rows are the checkpoint's."""
    import torch

    rows, shape = _reference(base)
    storages = set()
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isinstance on some library proxies warns of deprecations
        tensors = [o for o in gc.get_objects() if isinstance(o, torch.Tensor)]
    for t in tensors:
        if t.dim() != 2 or t.shape[1] != shape[1] or t.shape[0] < shape[0] or t.is_meta:
            continue
        head = t.detach()[:_ROWS].to("cpu")
        if torch.equal(head, rows.to(head.dtype)):
            storages.add((t.device.type, t.untyped_storage().data_ptr()))
    return len(storages)


def copies_in_engine_process(base: str, _model) -> tuple[int, int]:
    """(pid, resident copies of `base`) where it runs: for vLLM's `LLM.apply_model`, which calls it
    with the model inside the engine's own process (bind `base` with functools.partial)."""
    import os

    return os.getpid(), resident_copies(base)
