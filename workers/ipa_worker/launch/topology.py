"""Where the ranks of one training job run: processes per node, nodes, this node's rank, the main address.

A worker learns its process count from IPA_TRAIN_PROCS (set by `ipa worker --gpus` or
`--train-procs`); several nodes are only set up by hand, with the launcher's flags
(`python -m ipa_worker.launch`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Mapping

from ..errors import BadInput

PROCS_ENV = "IPA_TRAIN_PROCS"
# Stages that train: with more than one process they run as a launched group of ranks.
LAUNCHED_STAGES = frozenset({"train", "sft"})


@dataclass(frozen=True)
class Topology:
    """One training job's process layout.

    nproc_per_node: ranks started on this node (one per visible GPU, or CPU processes);
    nnodes / node_rank: machines taking part and this one's index (0 is the main node);
    main_addr / main_port: where rank 0 listens for the others (port 0: a free port, one node only).
    """

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    main_addr: str = "127.0.0.1"
    main_port: int = 0

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    def global_rank(self, local_rank: int) -> int:
        return self.node_rank * self.nproc_per_node + local_rank

    def check(self) -> "Topology":
        if self.nproc_per_node < 1 or self.nnodes < 1:
            raise BadInput(f"training processes: need at least 1 per node and 1 node, got {self.nproc_per_node} x {self.nnodes}")
        if not 0 <= self.node_rank < self.nnodes:
            raise BadInput(f"node rank {self.node_rank} is outside 0..{self.nnodes - 1}")
        if self.nnodes > 1 and self.main_port == 0:
            raise BadInput("several nodes need an explicit main port (every node must dial the same one)")
        if not 0 <= self.main_port < 65536:
            raise BadInput(f"main port {self.main_port} is not a TCP port")
        return self


def from_env(env: Mapping[str, str] = os.environ) -> Topology:
    """The worker's topology: IPA_TRAIN_PROCS processes on this node (1 when unset)."""
    raw = env.get(PROCS_ENV, "").strip() or "1"
    try:
        procs = int(raw)
    except ValueError:
        raise BadInput(f"{PROCS_ENV}={raw!r} is not a whole number of training processes") from None
    return Topology(nproc_per_node=procs).check()


def free_port(addr: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the ranks bind it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        return int(s.getsockname()[1])


def rank_env(topo: Topology, local_rank: int, port: int, cpus: int | None = None) -> dict[str, str]:
    """The variables torch.distributed and accelerate read in a rank (the names torchrun sets).

    OMP_NUM_THREADS splits the node's cores between its ranks unless the caller fixed it: on a
    CPU, ranks that each take every core run many times slower than ones that share them.
    """
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return {
        "RANK": str(topo.global_rank(local_rank)),
        "LOCAL_RANK": str(local_rank),
        "WORLD_SIZE": str(topo.world_size),
        "LOCAL_WORLD_SIZE": str(topo.nproc_per_node),
        "GROUP_RANK": str(topo.node_rank),
        "NODE_RANK": str(topo.node_rank),
        "MASTER_ADDR": topo.main_addr,
        "MASTER_PORT": str(port),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or str(max(1, cpus // topo.nproc_per_node)),
    }
