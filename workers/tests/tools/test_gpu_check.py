"""The GPU check: without a GPU it refuses in one line (never a silent CPU run); at tiny scale on
the CPU, asked for with --cpu-tiny, the worker's own stages end to end, and its figures."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ipa_worker.contract import payload_schema
from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.tools.gpu_check.architecture import ARCHITECTURES
from ipa_worker.tools.gpu_check.checkpoint import word_tokenizer
from ipa_worker.tools.gpu_check.figures import dpo_figures
from ipa_worker.tools.gpu_check.flops import (
    bf16_peak_tflops,
    dpo_step_flops,
    dpo_step_hardware_flops,
    lm_forward_flops,
    param_counts,
)
from ipa_worker.tools.gpu_check.prerequisites import compiler_problem, space_problem, torch_minimum, torch_problem
from ipa_worker.tools.gpu_check.workloads import PARAMS
from jsonschema import validate

WORKERS = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def check(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("gpu-check")
    out, work = tmp / "figures.json", tmp / "work"
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"} | {
        "PYTHONPATH": str(WORKERS),
        "CUDA_VISIBLE_DEVICES": "",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "ipa_worker.tools.gpu_check", "--cpu-tiny", "--out", str(out), "--work", str(work), "--keep"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"figures": json.loads(out.read_text()), "run": work / "run", "stdout": proc.stdout}


def test_without_a_gpu_it_refuses_in_one_line_and_builds_nothing(tmp_path):
    """What `make gpu-check` does on a machine whose torch sees no GPU: exit 2, the reason, no CPU run."""
    env = {**os.environ, "PYTHONPATH": str(WORKERS), "CUDA_VISIBLE_DEVICES": ""}
    work = tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "-m", "ipa_worker.tools.gpu_check", "--work", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: not run: "), proc.stderr
    assert "finds no usable GPU" in lines[0] and "--cpu-tiny" in lines[0]
    assert proc.stdout == "" and not work.exists()


def test_prints_the_figures_for_a_person(check):
    for label in (
        "sample (hf)",
        "verify (model)",
        "DPO step (median)",
        "DPO tokens/s",
        "DPO MFU",
        "DPO HFU",
        "peak memory",
    ):
        assert label in check["stdout"], label
    assert "(the CPU form: no GPU figure)" in check["stdout"]


def test_nothing_reaches_for_a_hub(check):
    """HF_HUB_OFFLINE was not in the check's environment: the check set it, and the library saw it."""
    assert check["figures"]["hub_offline"] is True


def test_payloads_are_what_the_orchestrator_sends(check):
    for stage in ("sample", "verify", "train"):
        validate(json.loads((check["run"] / "payloads" / f"{stage}.json").read_text()), payload_schema())


def test_sample_stage_wrote_its_responses(check):
    f = check["figures"]
    w, sample = f["workload"], f["stages"]["sample"]
    rows = read_jsonl(sample["outputs"]["responses"]["path"])
    assert len(rows) == w["seeds"] * (w["normal"] + w["contrastive"]) == sample["metrics"]["responses"]
    assert {r["kind"] for r in rows} == {"normal", "contrastive"}
    assert all(0 < r["num_tokens"] <= w["sample_tokens"] and r["response"] for r in rows)
    assert f["figures"]["sample"]["tokens_per_s"] > 0 and sample["seconds"] > 0


def test_verify_stage_judged_every_response_with_the_model(check):
    f = check["figures"]
    verify = f["stages"]["verify"]
    rows = read_jsonl(verify["outputs"]["verdicts"]["path"])
    assert len(rows) == f["figures"]["sample"]["responses"] == verify["metrics"]["n"]
    assert verify["metrics"]["kind"] == "model"
    # Random weights state no checks: every verdict is unjudged, with the model's raw text kept (a
    # second, sampled judgement of an unjudged response, verifier.rejudge, may end at once: empty).
    assert all(r["verdict"] is None and isinstance(r["raw"], str) for r in rows)
    assert any(r["raw"] for r in rows)
    assert f["figures"]["verify"]["verdicts_per_s"] > 0


def test_train_stage_published_a_lora_policy_and_logged_its_steps(check):
    f = check["figures"]
    w, train = f["workload"], f["stages"]["train"]
    policy = Path(train["outputs"]["policy"]["path"])
    assert (policy / "adapter_config.json").is_file() and (policy / "adapter_model.safetensors").is_file()
    assert (
        train["metrics"]["steps"] == w["dpo_steps"]
        and train["metrics"]["train_rows"] == w["dpo_batch"] * w["dpo_steps"]
    )
    rows = read_jsonl(check["run"] / "round-1" / "train_metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, w["dpo_steps"] + 1))
    assert all(r["seconds"] > 0 for r in rows)
    assert [r["num_tokens"] for r in rows] == sorted({r["num_tokens"] for r in rows})  # strictly increasing


def test_dpo_figures_are_sane(check):
    d = check["figures"]["figures"]["dpo"]
    assert d["steps"] == 2 and d["timed_steps"] == 1
    for key in (
        "step_seconds",
        "tokens_per_step",
        "completion_tokens_per_step",
        "tokens_per_s",
        "model_flops_per_step",
        "achieved_tflops",
        "peak_memory_bytes",
    ):
        assert d[key] > 0, key
    # Gradient checkpointing recomputes the decoder layers' forward: the hardware does more than the model needs.
    assert d["hardware_flops_per_step"] > d["model_flops_per_step"]
    # A CPU has no bf16 tensor-core peak to compare against.
    assert d["peak_bf16_tflops"] is None and d["mfu"] is None and d["hfu"] is None and d["mfu_target"] == 0.40
    # A fresh LoRA adapter is its reference: the first loss is log 2.
    assert d["loss_first"] == pytest.approx(math.log(2), abs=1e-3)


def test_figures_name_the_model_device_and_versions(check):
    f = check["figures"]
    assert f["config"] == "tiny" and f["device"]["kind"] == "cpu"
    assert f["model"]["total"] > f["model"]["vision"] > 0 and f["model"]["vocab_size"] == 1024
    assert {"torch", "transformers", "trl", "peft", "accelerate"} <= set(f["versions"])


def test_lm_head_counts_only_the_scored_tokens():
    arch = ARCHITECTURES["7b"]
    head = 2.0 * 152064 * 3584
    full = lm_forward_flops(arch, 7_000_000_000, 1000.0, 500.0)
    assert full - lm_forward_flops(arch, 7_000_000_000, 1000.0, 500.0, lm_head_tokens=400.0) == pytest.approx(
        head * 600
    )


def test_7b_config_is_the_published_architecture():
    p = param_counts(ARCHITECTURES["7b"])
    # What the CLI sizes the free-space check by, before it imports transformers.
    assert {name: param_counts(arch)["total"] for name, arch in ARCHITECTURES.items()} == PARAMS
    # Qwen2-VL-7B-Instruct: 8.29B parameters, 675M of them in the vision tower.
    assert p["total"] == pytest.approx(8.29e9, rel=0.01)
    assert p["vision"] == pytest.approx(675e6, rel=0.01)
    assert ARCHITECTURES["7b"].text["rope_parameters"]["mrope_section"] == [16, 24, 24]


def test_word_tokenizer_round_trips_every_model_id():
    arch = ARCHITECTURES["tiny"]
    tok = word_tokenizer(arch)
    ids = [5, 17, 1000, 3]
    assert tok(tok.decode(ids))["input_ids"] == ids
    assert tok.convert_tokens_to_ids("<|image_pad|>") == arch.ids["image_pad"]
    assert tok("unknown words")["input_ids"] == [0, 0]


@pytest.mark.parametrize(
    "name,peak",
    [("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H200", 989.0), ("NVIDIA H200 NVL", 835.0),
     ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA L4", None), ("cpu", None)],
)  # fmt: skip
def test_bf16_peak_by_card_name(name, peak):
    assert bf16_peak_tflops(name) == peak


def test_dpo_figures_time_all_steps_but_the_first():
    arch = ARCHITECTURES["7b"]
    params = {"language_matmul": 7_000_000_000, "vision": 675_000_000}
    rows = [
        {"model": "policy", "step": 1, "seconds": 9.0, "num_tokens": 4000.0, "loss": 0.69},
        {"model": "policy", "step": 2, "seconds": 2.0, "num_tokens": 8400.0, "loss": 0.6},
        {"model": "policy", "step": 3, "seconds": 2.0, "num_tokens": 12400.0, "loss": 0.5},
        {"model": "reviser", "step": 1, "seconds": 50.0, "num_tokens": 1.0},
    ]
    d = dpo_figures(
        rows, arch, params, pairs_per_step=4, patches_per_image=1024, prompt_tokens=300.0, peak_tflops=989.0
    )
    assert d["steps"] == 3 and d["timed_steps"] == 2 and d["step_seconds"] == 2.0
    assert d["tokens_per_step"] == 4200.0 and d["tokens_per_s"] == 2100.0
    assert d["completion_tokens_per_step"] == 4200.0 - 8 * 300.0
    flops = dpo_step_flops(arch, params, tokens=4200.0, completion_tokens=1800.0, sequences=8, patches=8 * 1024)
    assert d["model_flops_per_step"] == flops
    assert d["mfu"] == pytest.approx(flops / 2.0 / 1e12 / 989.0)
    # HFU adds one forward of the decoder layers (no LM head, no vision tower) per step.
    layers_forward = lm_forward_flops(arch, params["language_matmul"], 4200.0, 4200.0 / 8, lm_head_tokens=0.0)
    assert d["hardware_flops_per_step"] == pytest.approx(flops + layers_forward)
    assert d["hfu"] == pytest.approx((flops + layers_forward) / 2.0 / 1e12 / 989.0)
    shape = dict(tokens=4200.0, completion_tokens=1800.0, sequences=8, patches=8 * 1024)
    assert dpo_step_hardware_flops(arch, params, **shape, recompute=False) == flops
    assert (d["loss_first"], d["loss_last"]) == (0.69, 0.5)


def test_prerequisites_name_what_is_missing(tmp_path, monkeypatch):
    # The torch the installed transformers declares (5.x: 2.6), read from its metadata.
    assert torch_minimum() == "2.6"
    assert torch_minimum(['torchvision; extra == "vision"', 'torch>=2.4; extra == "torch"']) == "2.4"
    assert (
        torch_problem("2.5.1+cu124", "2.6")
        == "torch 2.5.1+cu124 is older than 2.6, the least the installed transformers accepts"
    )
    assert torch_problem("2.14.0+cu130", "2.6") is None and torch_problem(None, "2.6") == "torch is not installed"
    empty = tmp_path / "bin"
    empty.mkdir()
    assert "no C compiler" in compiler_problem({"PATH": str(empty)})
    assert compiler_problem({"PATH": str(empty), "CC": "/bin/sh"}) is None  # any $CC that exists
    import shutil as sh

    monkeypatch.setattr(sh, "disk_usage", lambda p: sh._ntuple_diskusage(100 * 2**30, 99 * 2**30, 1 * 2**30))
    said = space_problem(tmp_path / "not-yet" / "work", 17 * 2**30)
    assert said == f"{tmp_path} has 1.0 GiB free; the check's checkpoint and run need about 17.0 GiB (--work elsewhere)"
