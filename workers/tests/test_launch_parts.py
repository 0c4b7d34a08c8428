"""The launcher's pure parts: batch split, topology, strategy, checkpoint completeness, the channel."""

from __future__ import annotations

import os
import threading

import pytest

from ipa_worker.errors import BadInput
from ipa_worker.training.batch_layout import split_batch
from ipa_worker.launch.channel import ChannelWriter, LineReader
from ipa_worker.launch.topology import Topology, from_env, rank_env
from ipa_worker.training.strategy import resolve_strategy, strategy_args
from ipa_worker.training.trainable import last_checkpoint


@pytest.mark.parametrize(
    "global_batch,cap,world,per_device,accum",
    [
        (16, 2, 1, 2, 8),  # one device: the recipe's own batch_size x grad_accum
        (16, 2, 8, 2, 1),
        (16, 4, 2, 4, 2),
        (16, 1, 2, 1, 8),  # after OOM halvings: smaller share, more accumulation, same global batch
        (12, 8, 4, 3, 1),  # the largest share up to the cap that divides the rank's part
        (6, 4, 2, 3, 1),
        (5, 2, 1, 1, 5),
    ],
)
def test_split_keeps_the_global_batch(global_batch, cap, world, per_device, accum):
    layout = split_batch(global_batch, cap, world, field="training.dpo")
    assert (layout.per_device, layout.grad_accum) == (per_device, accum)
    assert layout.per_device * layout.grad_accum * layout.world_size == global_batch
    assert layout.per_device <= cap


def test_split_names_the_field_when_the_batch_does_not_divide():
    with pytest.raises(BadInput, match=r"training.dpo.batch_size x grad_accum: the global batch \(6\) does not divide over 4"):
        split_batch(6, 2, 4, field="training.dpo.batch_size x grad_accum")


def test_layout_words_and_metrics():
    layout = split_batch(16, 2, 4, field="f")
    assert layout.describe() == "global batch 16 = 4 processes x 2 per device x 2 accumulation steps"
    assert layout.metrics() == {"world_size": 4, "global_batch": 16, "per_device_batch": 2, "grad_accum": 2}


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


def test_strategy_by_job():
    assert resolve_strategy("auto", full_finetune=False, device="cuda", world_size=1) == "single"
    assert resolve_strategy("auto", full_finetune=False, device="cuda", world_size=4) == "ddp"
    assert resolve_strategy("auto", full_finetune=True, device="cuda", world_size=4) == "fsdp"
    assert resolve_strategy("auto", full_finetune=True, device="cpu", world_size=2) == "ddp"
    assert resolve_strategy("ddp", full_finetune=True, device="cuda", world_size=2) == "ddp"
    with pytest.raises(BadInput, match="fsdp, which needs CUDA"):
        resolve_strategy("fsdp", full_finetune=True, device="cpu", world_size=2)
    with pytest.raises(BadInput, match="fsdp, which is for full fine-tuning"):
        resolve_strategy("fsdp", full_finetune=False, device="cuda", world_size=2)


def test_fsdp_arguments_reach_the_trainer_config():
    """FSDP cannot run on a CPU; what can be checked here is the DPOConfig it would train with."""
    from ipa_worker.contract import recipe_defaults
    from ipa_worker.training.dpo_trainer import dpo_config

    dpo = {**recipe_defaults()["training"]["dpo"], "gradient_checkpointing": True}
    args = dpo_config(dpo, checkpoint_dir="unused", device="cpu", layout=split_batch(16, 2, 1, field="f"),
                      strategy=strategy_args("fsdp", timeout_s=900, gradient_checkpointing=True))  # fmt: skip
    assert args.fsdp and args.fsdp_config["reshard_after_forward"] is True
    assert args.fsdp_config["activation_checkpointing"] is True and not args.gradient_checkpointing
    assert args.ddp_timeout == 900 and args.per_device_train_batch_size == 2 and args.gradient_accumulation_steps == 8
    ddp = strategy_args("ddp", timeout_s=60, gradient_checkpointing=True)
    assert ddp == {"ddp_timeout": 60, "gradient_checkpointing": True}


def _checkpoint(root, step, files):
    d = root / f"checkpoint-{step}"
    d.mkdir()
    for name in files:
        (d / name).write_text("{}")


def test_a_group_checkpoint_counts_only_once_marked(tmp_path):
    _checkpoint(tmp_path, 1, ["trainer_state.json", "rng_state.pth"])  # one process, before the mark existed
    _checkpoint(tmp_path, 2, ["trainer_state.json", "rng_state_0.pth", "rng_state_1.pth", "ipa_checkpoint.json"])
    # Rank 0 wrote its state; the mark (after every rank's files) is missing: not resumable.
    _checkpoint(tmp_path, 3, ["trainer_state.json", "rng_state_0.pth"])
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-2")
    (tmp_path / "checkpoint-3" / "ipa_checkpoint.json").write_text("{}")
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-3")


def test_channel_lines_survive_any_split():
    read_fd, write_fd = os.pipe()

    def write() -> None:
        writer = ChannelWriter(write_fd)
        writer.send({"type": "progress", "done": 1, "total": 2, "metrics": {"loss": 0.5}})
        writer.send({"type": "log", "msg": "x" * 100_000})  # more than a pipe holds: several writes
        os.close(write_fd)

    thread = threading.Thread(target=write)
    thread.start()
    data = b""
    while chunk := os.read(read_fd, 4096):
        data += chunk
    thread.join()
    os.close(read_fd)
    reader = LineReader()
    got = [m for i in range(0, len(data), 777) for m in reader.feed(data[i : i + 777])]
    assert [m["type"] for m in got] == ["progress", "log"] and len(got[1]["msg"]) == 100_000
    assert list(reader.feed(b"not json\n")) == []
