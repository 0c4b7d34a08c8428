"""What the GPU check needs before it builds anything; each missing piece is named in words.

Looked at without importing transformers (whose own refusal of an old torch is a confusing
import error): the torch release the installed transformers declares it needs, CUDA as torch sees
it (a CPU build, no driver, a driver too old, no device), a C compiler on a GPU (Triton builds a
launcher with it at the first kernel), and free space in the work folder for the checkpoint.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import warnings
from pathlib import Path

# Bytes per parameter of the saved checkpoint (bf16 on a GPU, float32 on a CPU), with room for
# the run's own files (responses, the adapter, metrics): a tenth more.
ROOM = 1.1


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: '2.14.0+cu130' -> (2, 14, 0)."""
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])


def torch_minimum(requires: list[str] | None = None) -> str | None:
    """The lowest torch the installed transformers declares (its `torch` extra), e.g. '2.6'."""
    if requires is None:
        try:
            requires = importlib.metadata.requires("transformers") or []
        except importlib.metadata.PackageNotFoundError:
            return None
    for req in requires:
        m = re.match(r"torch\s*>=\s*([\d.]+)", req)
        if m:
            return m.group(1)
    return None


def torch_problem(installed: str | None, minimum: str | None) -> str | None:
    if installed is None:
        return "torch is not installed"
    if minimum and _release(installed) < _release(minimum):
        return f"torch {installed} is older than {minimum}, the least the installed transformers accepts"
    return None


def cuda_problem() -> str | None:
    """Why CUDA is not usable here, or None when torch sees at least one GPU."""
    import torch

    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usable = torch.cuda.is_available() and torch.cuda.device_count() > 0
    if usable:
        return None
    said = next((str(w.message).splitlines()[0] for w in caught if str(w.message).strip()), "")
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        said = said or "CUDA_VISIBLE_DEVICES is empty"
    return f"torch {torch.__version__} (built for CUDA {torch.version.cuda}) finds no usable GPU" + (
        f": {said}" if said else " (no NVIDIA driver or GPU)"
    )


def compiler_problem(env: dict[str, str] | None = None) -> str | None:
    """Triton compiles its launcher with $CC, else the first of cc, gcc, clang on PATH."""
    env = dict(os.environ) if env is None else env
    path = env.get("PATH", "")
    cc = env.get("CC")
    if cc and shutil.which(cc, path=path):
        return None
    if any(shutil.which(c, path=path) for c in ("cc", "gcc", "clang")):
        return None
    return "no C compiler (cc, gcc or clang on PATH, or $CC): Triton builds its kernels' launcher with one at the first GPU kernel"


def space_problem(folder: Path, need_bytes: float) -> str | None:
    """Free space where the checkpoint goes (the nearest existing folder of `folder`)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free >= need_bytes:
        return None
    return f"{probe} has {free / 2**30:.1f} GiB free; the check's checkpoint and run need about {need_bytes / 2**30:.1f} GiB (--work elsewhere)"


def checkpoint_bytes(total_params: int, cuda: bool) -> float:
    return total_params * (2 if cuda else 4) * ROOM


def problems(*, cuda: bool, work: Path, total_params: int) -> list[str]:
    """Everything missing for a run on CUDA (`cuda`) or on the CPU, in the order to fix them
    (a torch that transformers refuses ends the list)."""
    try:
        installed: str | None = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    bad_torch = torch_problem(installed, torch_minimum())
    if bad_torch:
        return [bad_torch]
    out = [p for p in (cuda_problem(), compiler_problem()) if p] if cuda else []
    space = space_problem(work, checkpoint_bytes(total_params, cuda))
    return out + ([space] if space else [])
