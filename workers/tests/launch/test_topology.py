"""Where the ranks run: the worker's environment, or the payload's group across nodes."""

from __future__ import annotations

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.launch.topology import STANDALONE_ENDPOINT, Topology, for_payload, from_env


def test_topology_from_the_worker_environment():
    assert from_env({}).world_size == 1 and not from_env({}).launched
    assert from_env({"IPA_TRAIN_PROCS": "4"}) == Topology(nproc_per_node=4)
    assert from_env({"IPA_TRAIN_PROCS": "4"}).endpoint == STANDALONE_ENDPOINT
    with pytest.raises(BadInput, match="IPA_TRAIN_PROCS='two'"):
        from_env({"IPA_TRAIN_PROCS": "two"})
    with pytest.raises(BadInput, match="at least 1"):
        from_env({"IPA_TRAIN_PROCS": "0"})


def test_a_payload_group_spans_nodes():
    group = {"nnodes": 2, "endpoint": "10.0.0.5:29500", "id": "run-r1-train-a2", "host": False, "node_addr": "10.0.0.6"}
    topo = for_payload({"group": group}, {"IPA_TRAIN_PROCS": "8"})
    assert (topo.world_size, topo.endpoint, topo.host, topo.node_addr) == (16, "10.0.0.5:29500", False, "10.0.0.6")
    # One process per node is still a group: the other node's ranks need this one.
    assert for_payload({"group": dict(group, host=True)}, {}).launched
    assert for_payload({}, {"IPA_TRAIN_PROCS": "1"}) == Topology()


def test_topology_checks_the_rendezvous():
    with pytest.raises(BadInput, match="explicit rendezvous port"):
        Topology(nproc_per_node=2, nnodes=2, endpoint="10.0.0.5:0").check()
    with pytest.raises(BadInput, match="is not host:port"):
        Topology(nnodes=2, endpoint="10.0.0.5").check()
