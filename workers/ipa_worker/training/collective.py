"""torch.distributed as the stages see it: the group's size, the main rank, barriers, shared decisions.

Every function also works with no process group (one process): world size 1, always the main
rank, barriers and broadcasts are no-ops. That is how the same trainer code runs in the worker's
own process and in each rank of a launched group.
"""

from __future__ import annotations

from datetime import timedelta


def _dist():
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def world_size() -> int:
    dist = _dist()
    return dist.get_world_size() if dist else 1


def rank() -> int:
    dist = _dist()
    return dist.get_rank() if dist else 0


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    dist = _dist()
    if dist and dist.get_world_size() > 1:
        dist.barrier()


def broadcast_flag(value: bool) -> bool:
    """Rank 0's `value` on every rank (a collective: every rank must call it at the same point)."""
    dist = _dist()
    if not dist or dist.get_world_size() == 1:
        return value
    import torch

    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    flag = torch.tensor([1 if value else 0], dtype=torch.int32, device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def init_group(device: str, timeout_s: float) -> str:
    """Joins the group described by RANK/WORLD_SIZE/MASTER_* with an explicit collective timeout.

    Created here rather than by accelerate because transformers passes `ddp_timeout` on only for
    GPUs: a CPU (gloo) group would otherwise wait 30 minutes on a hung peer. accelerate reuses a
    group that already exists. Returns the backend: nccl for CUDA, gloo for the CPU.
    """
    import torch.distributed as dist

    backend = "nccl" if device == "cuda" else "gloo"
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=float(timeout_s)))
    return backend


def close_group() -> None:
    dist = _dist()
    if dist:
        dist.destroy_process_group()
