"""The recipe states a global batch; each rank gets a per-device batch and an accumulation count.

global batch = batch_size x grad_accum of the recipe, whatever the number of processes, so a
run's optimiser steps (and, up to float rounding, its losses) do not depend on how many devices
trained it. `batch_size` stays the most examples one device holds at once: the split keeps the
per-device batch as large as that allows and makes up the rest with accumulation. On one device
and at full batch this is exactly the recipe's batch_size and grad_accum.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BadInput


@dataclass(frozen=True)
class BatchLayout:
    global_batch: int
    world_size: int
    per_device: int
    grad_accum: int

    def describe(self) -> str:
        return (
            f"global batch {self.global_batch} = {self.world_size} process{'es' if self.world_size != 1 else ''}"
            f" x {self.per_device} per device x {self.grad_accum} accumulation step{'s' if self.grad_accum != 1 else ''}"
        )

    def metrics(self) -> dict[str, int]:
        return {
            "world_size": self.world_size,
            "global_batch": self.global_batch,
            "per_device_batch": self.per_device,
            "grad_accum": self.grad_accum,
        }


def split_batch(global_batch: int, max_per_device: int, world_size: int, *, field: str) -> BatchLayout:
    """The largest per-device batch <= `max_per_device` with per_device x accum x world = global.

    `field` names the recipe setting in the error when the global batch cannot be shared evenly.
    """
    if global_batch < 1 or max_per_device < 1 or world_size < 1:
        raise BadInput(f"{field}: batch sizes and process counts must be positive")
    if global_batch % world_size:
        raise BadInput(
            f"{field}: the global batch ({global_batch}) does not divide over {world_size} training processes; "
            f"make it a multiple of {world_size} or train on a process count that divides it"
        )
    per_rank = global_batch // world_size
    per_device = max(d for d in range(1, min(max_per_device, per_rank) + 1) if per_rank % d == 0)
    return BatchLayout(
        global_batch=global_batch, world_size=world_size, per_device=per_device, grad_accum=per_rank // per_device
    )
