"""Training on several processes through the launcher (gloo on the CPU, the tiny Qwen2-VL).

Two processes with the recipe's global batch reproduce one process's losses and leave a loadable
adapter; two launchers on loopback, as two machines, do the same. The kill -9 of a rank under a
real worker agent is in test/integration/train-ranks.test.ts.

Step 1's loss is ln 2 whatever the batch (a fresh LoRA adapter starts equal to its reference),
so the comparison starts at step 2.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from payloads import build_payload
from pair_files import write_pairs

from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.launch.supervisor import run_ranks
from ipa_worker.launch.topology import Topology, free_port
from ipa_worker.context import StageContext
from ipa_worker.stages import train

WORKERS = Path(__file__).resolve().parents[2]
PAIRS = 12
# Global batch 4 (batch_size 2 x grad_accum 2): 3 optimiser steps over the 12 pairs. One process
# takes 2 per step twice; two processes take 2 each once.
DPO = {
    "batch_size": 2, "grad_accum": 2, "learning_rate": 1e-2, "max_length": 128, "save_steps": 1, "loss_type": "sigmoid",
}  # fmt: skip
LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
# float32 sums in another order (per-process batches, then an all-reduce) differ in the last bits.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> str:
    return write_pairs(tmp_path_factory.mktemp("pairs"), PAIRS)


@pytest.fixture(scope="module")
def payload_for(tiny_model_dir, pairs, tmp_path_factory):
    def build(name: str) -> dict:
        # The pair file lies in the run, as a pair job writes it: training reads only run files.
        run = tmp_path_factory.mktemp(name) / "run"
        shard = run / "round-1" / "pairs" / "shard-000.jsonl"
        shard.parent.mkdir(parents=True)
        shutil.copyfile(pairs, shard)
        return build_payload(
            tiny_model_dir, "train", run,
            inputs={"pairs": [str(shard)], "feedback_pairs": []}, model={"device": "cpu", "max_pixels": 56 * 56},
            training={"train_reviser": False, "dpo": DPO, "lora": LORA},
        )  # fmt: skip

    return build


class Recorder(StageContext):
    def __init__(self) -> None:
        self.messages: list[dict] = []
        super().__init__(emit=self.messages.append)

    def logs(self) -> list[str]:
        return [m["msg"] for m in self.messages if m["type"] == "log"]


def policy_lines(payload: dict) -> list[dict]:
    return [r for r in read_jsonl(payload["outputs"]["metrics"]) if r["model"] == "policy"]


@pytest.fixture(scope="module")
def one_process(payload_for):
    payload = payload_for("one")
    result = train.run(payload, Recorder())
    return payload, result


@pytest.fixture(scope="module")
def two_processes(payload_for):
    payload = payload_for("two")
    ctx = Recorder()
    result = run_ranks(payload, ctx, Topology(nproc_per_node=2))
    return payload, result, ctx


def assert_same_losses(a: list[dict], b: list[dict]) -> None:
    assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3]
    for ra, rb in zip(a[1:], b[1:]):
        for key in ("loss", "rewards/margins", "rewards/chosen", "rewards/rejected"):
            assert abs(ra[key] - rb[key]) < TOLERANCE, (ra["step"], key, ra[key], rb[key])
    assert a[2]["loss"] < a[0]["loss"]  # it trained: the comparison is not of two untouched adapters


def test_two_processes_reproduce_one_process_losses(one_process, two_processes):
    (p1, r1), (p2, r2, ctx) = one_process, two_processes
    m1, m2 = r1["metrics"], r2["metrics"]
    assert (m1["world_size"], m1["per_device_batch"], m1["grad_accum"], m1["strategy"]) == (1, 2, 2, "single")
    assert (m2["world_size"], m2["per_device_batch"], m2["grad_accum"], m2["strategy"]) == (2, 2, 1, "ddp")
    assert m1["global_batch"] == m2["global_batch"] == 4 and m1["steps"] == m2["steps"] == 3
    assert_same_losses(policy_lines(p1), policy_lines(p2))
    # What the job log shows: the group and the batch split, from rank 0 only.
    assert any(line.startswith("training on 2 process(es)") for line in ctx.logs())
    assert ctx.logs().count("policy: global batch 4 = 2 processes x 2 per device x 1 accumulation step; strategy ddp") == 1
    progress = [m["done"] for m in ctx.messages if m["type"] == "progress"]
    assert progress[-1] == 1 and 3 in progress


def test_two_process_adapter_loads_and_checkpoints_are_marked(two_processes, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    payload, result, _ = two_processes
    out = result["outputs"]["policy"]["path"]
    model = PeftModel.from_pretrained(AutoModelForImageTextToText.from_pretrained(tiny_model_dir), out)
    assert any("lora_A" in n for n, _ in model.named_parameters())
    ckpts = Path(payload["outputs"]["checkpoints"]) / "policy"
    for step in (1, 2, 3):
        folder = ckpts / f"checkpoint-{step}"
        assert json.loads((folder / "ipa_checkpoint.json").read_text()) == {"step": step, "world_size": 2}
        assert {p.name for p in folder.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}


def test_two_launchers_on_loopback_train_as_two_machines(two_processes, payload_for, tmp_path):
    """--nnodes 2 with one process each, node 0 at 127.0.0.1: the same losses as one node's two processes."""
    payload = payload_for("nodes")
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(WORKERS)}
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "ipa_worker.launch", str(path), "--nproc-per-node", "1", "--nnodes", "2", "--node-rank", str(rank),
             "--main-addr", "127.0.0.1", "--main-port", str(port), "--out", str(tmp_path / f"result-{rank}.json")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for rank in (0, 1)
    ]
    outs = [n.communicate(timeout=600) for n in nodes]
    assert [n.returncode for n in nodes] == [0, 0], [o[1][-3000:] for o in outs]
    assert "world size 2" in outs[0][0] and "node 0 has the result" in outs[1][1]
    result = json.loads((tmp_path / "result-0.json").read_text())
    assert not (tmp_path / "result-1.json").exists()
    assert result["metrics"]["world_size"] == 2 and result["metrics"]["steps"] == 3
    assert_same_losses(policy_lines(two_processes[0]), policy_lines(payload))
