"""The GPU check at tiny scale on the CPU: the same code path a GPU run takes, end to end."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ipa_worker.tools import gpu_check

WORKERS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("gpu-check") / "figures.json"
    env = {**os.environ, "PYTHONPATH": str(WORKERS), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "ipa_worker.tools.gpu_check", "--config", "tiny", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "dpo: tokens/s" in proc.stdout and "generate (hf): tokens/s" in proc.stdout
    return json.loads(out.read_text())


def test_reports_the_model_and_device(figures):
    assert figures["config"] == "tiny"
    assert figures["device"]["kind"] == "cpu"
    assert figures["model"]["class"] == "Qwen2VLForConditionalGeneration"
    assert figures["model"]["params_total"] > figures["model"]["params_vision"] > 0
    assert {"torch", "transformers", "peft"} <= set(figures["versions"])


def test_generation_figures_are_positive(figures):
    g = figures["generation"]
    assert g["batch"] == 4 and g["new_tokens_per_seq"] == 8
    assert g["image_tokens"] == (56 // 28) ** 2
    for k in ("seconds", "tokens_per_s", "peak_memory_bytes"):
        assert g[k] > 0, k


def test_dpo_figures_are_positive(figures):
    d = figures["dpo"]
    assert d["seq_len"] == 64 and d["pairs_per_step"] == 2 and d["steps"] == 2
    assert d["response_tokens"] > 0 and d["trainable_params"] > 0
    for k in ("step_seconds", "tokens_per_s", "peak_memory_bytes", "model_flops_per_step", "achieved_tflops"):
        assert d[k] > 0, k
    # A CPU has no bf16 tensor-core peak to compare against.
    assert d["peak_bf16_tflops"] is None and d["mfu"] is None
    # Random responses give a DPO loss near log 2 at the start.
    assert abs(d["loss_first"] - 0.6931) < 0.05


def test_vllm_part_says_why_it_did_not_run(figures):
    v = figures["vllm"]
    assert v["status"] in {"skipped", "error", "ok"}
    if v["status"] != "ok":
        assert v["reason"]


def test_7b_config_is_the_published_architecture():
    cfg, ids = gpu_check.build_config("7b")
    with torch.device("meta"):
        from transformers import Qwen2VLForConditionalGeneration

        model = Qwen2VLForConditionalGeneration._from_config(cfg, dtype=torch.bfloat16)
    p = gpu_check.count_params(model)
    # Qwen2-VL-7B-Instruct: 8.29B parameters, 675M of them in the vision tower.
    assert p["total"] == pytest.approx(8.29e9, rel=0.01)
    assert p["vision"] == pytest.approx(675e6, rel=0.01)
    assert cfg.text_config.rope_parameters["mrope_section"] == [16, 24, 24]
    assert ids["image_pad"] == cfg.image_token_id == 151655


@pytest.mark.parametrize(
    "name,peak",
    [("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H200", 989.0),
     ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA L4", None)],
)
def test_bf16_peak_by_card_name(name, peak):
    assert gpu_check.bf16_peak_tflops(name) == peak


def test_vllm_snapshot_tokenizer_keeps_the_model_ids(tmp_path):
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration

    cfg, ids = gpu_check.build_config("tiny")
    gpu_check.save_for_vllm(Qwen2VLForConditionalGeneration._from_config(cfg), cfg, ids, 56, str(tmp_path))
    tok = AutoTokenizer.from_pretrained(tmp_path)
    text = "<|im_start|> <t5> <|vision_start|><|image_pad|><|vision_end|> <t7>"
    assert tok(text)["input_ids"] == [ids["im_start"], 5, ids["vision_start"], ids["image_pad"], ids["vision_end"], 7]
    # Pixel bounds survive the round trip (this transformers keeps them as size={shortest,longest}_edge).
    assert AutoImageProcessor.from_pretrained(tmp_path).size["longest_edge"] == 56 * 56
