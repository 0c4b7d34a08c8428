"""Where the ranks run: the worker's environment, several nodes, rank numbering."""

from __future__ import annotations

import pytest

from ipa_worker.errors import BadInput

from ipa_worker.launch.topology import Topology, from_env, rank_env


def test_topology_from_the_worker_environment():
    assert from_env({}).world_size == 1
    assert from_env({"IPA_TRAIN_PROCS": "4"}) == Topology(nproc_per_node=4)
    with pytest.raises(BadInput, match="IPA_TRAIN_PROCS='two'"):
        from_env({"IPA_TRAIN_PROCS": "two"})
    with pytest.raises(BadInput, match="at least 1"):
        from_env({"IPA_TRAIN_PROCS": "0"})


def test_topology_checks_several_nodes():
    with pytest.raises(BadInput, match="explicit main port"):
        Topology(nproc_per_node=2, nnodes=2, node_rank=1).check()
    with pytest.raises(BadInput, match="node rank 2 is outside 0..1"):
        Topology(nnodes=2, node_rank=2, main_port=29500).check()


def test_rank_env_numbers_ranks_across_nodes(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    topo = Topology(nproc_per_node=4, nnodes=2, node_rank=1, main_addr="10.0.0.5", main_port=29500)
    env = rank_env(topo, 2, 29500, cpus=16)
    assert env["RANK"] == "6" and env["LOCAL_RANK"] == "2" and env["WORLD_SIZE"] == "8" and env["LOCAL_WORLD_SIZE"] == "4"
    assert env["MASTER_ADDR"] == "10.0.0.5" and env["MASTER_PORT"] == "29500" and env["NODE_RANK"] == "1"
    assert env["OMP_NUM_THREADS"] == "4"  # the node's cores shared by its ranks
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    assert rank_env(topo, 0, 29500, cpus=16)["OMP_NUM_THREADS"] == "7"
