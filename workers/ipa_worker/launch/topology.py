"""Where the ranks of one training job run: processes on this node, nodes in the group, the rendezvous.

A worker learns its process count from IPA_TRAIN_PROCS (set by `ipa worker --gpus` or
`--train-procs`). A job that spans nodes carries its group in the payload (`group`: written by the
agent that leads it, the same on every node but for `host`): how many nodes, the c10d rendezvous
endpoint on the leading node and the group's id. Without it the job trains on this node alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import BadInput

PROCS_ENV = "IPA_TRAIN_PROCS"
# Stages that train: with more than one process they run as a launched group of ranks.
LAUNCHED_STAGES = frozenset({"train", "sft"})
# One node's rendezvous: torchrun --standalone's (a store on a free loopback port).
STANDALONE_ENDPOINT = "127.0.0.1:0"


@dataclass(frozen=True)
class Topology:
    """One training job's process layout.

    nproc_per_node: ranks started on this node (one per visible GPU, or CPU processes);
    nnodes: nodes in the group (every node runs nproc_per_node ranks);
    endpoint: host:port of the c10d rendezvous store (port 0: a free one, one node only);
    group_id: the rendezvous id, the same on every node of one try;
    host: this node serves the rendezvous store (the leading node; always so on one node);
    node_addr: this node's address as the other nodes reach it (None: torch looks up the FQDN).
    """

    nproc_per_node: int = 1
    nnodes: int = 1
    endpoint: str = STANDALONE_ENDPOINT
    group_id: str = "ipa-standalone"
    host: bool = True
    node_addr: str | None = None

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    @property
    def launched(self) -> bool:
        """Whether the job runs as a group of rank processes (else in the worker's own process)."""
        return self.world_size > 1

    def check(self) -> Topology:
        if self.nproc_per_node < 1 or self.nnodes < 1:
            raise BadInput(
                f"training processes: need at least 1 per node and 1 node, got {self.nproc_per_node} x {self.nnodes}"
            )
        addr, _, port = self.endpoint.rpartition(":")
        if not addr or not port.isdigit() or not 0 <= int(port) < 65536:
            raise BadInput(f"rendezvous endpoint {self.endpoint!r} is not host:port")
        if self.nnodes > 1 and int(port) == 0:
            raise BadInput("several nodes need an explicit rendezvous port (every node must dial the same one)")
        return self


def _procs(env: Mapping[str, str]) -> int:
    raw = env.get(PROCS_ENV, "").strip() or "1"
    try:
        return int(raw)
    except ValueError:
        raise BadInput(f"{PROCS_ENV}={raw!r} is not a whole number of training processes") from None


def from_env(env: Mapping[str, str] = os.environ) -> Topology:
    """The worker's own topology: IPA_TRAIN_PROCS processes on this node (1 when unset)."""
    return Topology(nproc_per_node=_procs(env)).check()


def for_payload(payload: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> Topology:
    """The topology of one job: this node's processes, and the payload's group when it spans nodes."""
    group = payload.get("group")
    if not group:
        return from_env(env)
    return Topology(
        nproc_per_node=_procs(env),
        nnodes=int(group["nnodes"]),
        endpoint=str(group["endpoint"]),
        group_id=str(group["id"]),
        host=bool(group["host"]),
        node_addr=group.get("node_addr"),
    ).check()
