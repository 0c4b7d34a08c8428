"""The `vllm` sampling backend on the tiny Qwen2-VL, through the sample stage, against the `hf` backend.

Both backends run here, in the vLLM environment (same torch and transformers), on the same
seeds: greedy rows agree field by field (the text decoded the same way, the same token counts,
normal and contrastive samples alike); sampled rows reproduce from their per-request seeds;
LoRA roles give what HF + PEFT gives, and an adapter republished at the same path is served
with its new weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from payloads import build_payload

from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.models import vllm_engine
from ipa_worker.models.generation import answer
from ipa_worker.context import StageContext
from ipa_worker.stages import sample

PIXELS = 56 * 56
COMPARED = ("seed_id", "sample_id", "kind", "perturbation", "image_sha256", "response", "num_tokens")


def run_sample(base, seeds_file, run_dir, pool, *, backend, temperature, adapter=None, seed=0) -> list[dict]:
    payload = build_payload(
        base, "sample", run_dir, inputs={"seeds": seeds_file}, seed=seed,
        model={"device": "cpu", "dtype": "float32", "min_pixels": PIXELS, "max_pixels": PIXELS},
        sampling={"backend": backend, "num_normal": 2, "num_contrastive": 2, "temperature": temperature, "max_new_tokens": 8, "batch_size": 24},
        training={"lora": {"r": 8}},
    )  # fmt: skip
    payload["models"]["generator"]["adapter"] = adapter
    result = sample.run(payload, StageContext(models=pool))
    assert result["failed_items"] == []
    return read_jsonl(result["outputs"]["responses"]["path"])


def compared(rows: list[dict]) -> list[tuple]:
    return [tuple(r[k] for k in COMPARED) for r in rows]


def publish_random_adapter(base: str, folder: Path, seed: int) -> str:
    """A LoRA adapter with random (non-zero) B matrices on the language model, published in place."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText

    from ipa_worker.contract.recipe_types import TrainingLora
    from ipa_worker.training.trainable import lora_config, publish_dir

    cfg = lora_config(TrainingLora(r=8, alpha=16.0, dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"]))
    cfg.init_lora_weights = False
    torch.manual_seed(seed)
    model = get_peft_model(AutoModelForImageTextToText.from_pretrained(base), cfg)
    return publish_dir(folder, model.save_pretrained)["path"]


def test_greedy_rows_match_the_hf_backend(tiny_model_dir, seeds_file, tmp_path, model_pool):
    hf = run_sample(tiny_model_dir, seeds_file, tmp_path / "hf", model_pool, backend="hf", temperature=0.0)
    vl = run_sample(tiny_model_dir, seeds_file, tmp_path / "vllm", model_pool, backend="vllm", temperature=0.0)
    assert len(vl) == len(hf) == 6 * 4
    assert {r["kind"] for r in vl} == {"normal", "contrastive"}
    assert compared(vl) == compared(hf)
    assert all(set(a) == set(b) for a, b in zip(vl, hf))  # the same row contract, key for key


def test_sampled_rows_reproduce_from_their_seeds(tiny_model_dir, seeds_file, tmp_path, model_pool):
    a = run_sample(tiny_model_dir, seeds_file, tmp_path / "a", model_pool, backend="vllm", temperature=1.0)
    b = run_sample(tiny_model_dir, seeds_file, tmp_path / "b", model_pool, backend="vllm", temperature=1.0)
    c = run_sample(tiny_model_dir, seeds_file, tmp_path / "c", model_pool, backend="vllm", temperature=1.0, seed=1)
    assert a == b
    assert [r["response"] for r in a] != [r["response"] for r in c]
    # gen_seed is the response's own seed (it seeds its request): one per row.
    assert len({r["gen_seed"] for r in a}) == len(a)
    assert all(0 <= r["num_tokens"] <= 8 for r in a)


def test_lora_roles_follow_the_adapter_and_its_republished_weights(tiny_model_dir, seeds_file, tmp_path, model_pool):
    folder = tmp_path / "round-1" / "models" / "policy"
    adapter = publish_random_adapter(tiny_model_dir, folder, seed=1)
    base_rows = run_sample(tiny_model_dir, seeds_file, tmp_path / "base", model_pool, backend="vllm", temperature=0.0)
    first = run_sample(tiny_model_dir, seeds_file, tmp_path / "v1", model_pool, backend="vllm", temperature=0.0, adapter=adapter)
    model_pool.clear()
    first_hf = run_sample(tiny_model_dir, seeds_file, tmp_path / "h1", model_pool, backend="hf", temperature=0.0, adapter=adapter)
    assert compared(first) == compared(first_hf)
    assert [r["response"] for r in first] != [r["response"] for r in base_rows]

    # A retried train job publishes new weights at the same path: the engine must serve them.
    publish_random_adapter(tiny_model_dir, folder, seed=2)
    second = run_sample(tiny_model_dir, seeds_file, tmp_path / "v2", model_pool, backend="vllm", temperature=0.0, adapter=adapter)
    model_pool.clear()
    second_hf = run_sample(tiny_model_dir, seeds_file, tmp_path / "h2", model_pool, backend="hf", temperature=0.0, adapter=adapter)
    assert compared(second) == compared(second_hf)
    assert [r["response"] for r in second] != [r["response"] for r in first]
    shutil.rmtree(folder)


def tiny_engine_settings(base: str) -> dict:
    """The engine the sample stage builds above: one image per prompt, LoRA rank 8."""
    model = {"dtype": "float32", "min_pixels": PIXELS, "max_pixels": PIXELS}
    return vllm_engine.engine_settings(model, {"gpu_memory_utilization": 0.6, "max_model_len": 4096}, base, 1, 8)


def test_one_engine_serves_every_call_with_the_same_settings(tiny_model_dir):
    settings = tiny_engine_settings(tiny_model_dir)
    llm, processor, end_ids = vllm_engine.engine(settings)
    assert vllm_engine.engine(settings)[0] is llm
    assert {0, 2} <= end_ids  # <|endoftext|> and <|im_end|> of the tiny tokenizer


def test_a_response_that_stops_on_the_end_token_does_not_count_it(tiny_model_dir):
    # The random tiny model rarely ends on its own: only <|im_end|> (2) is allowed here. vLLM
    # keeps it in its ids; the row, like the hf backend's, counts the tokens before it.
    from vllm import SamplingParams

    settings = tiny_engine_settings(tiny_model_dir)
    llm, processor, end_ids = vllm_engine.engine(settings)
    out = llm.generate(["hello"], SamplingParams(max_tokens=4, temperature=0.0, allowed_token_ids=[2]), use_tqdm=False)
    ids = list(out[0].outputs[0].token_ids)
    assert ids == [2] and out[0].outputs[0].finish_reason == "stop"
    assert answer(processor.tokenizer, ids, end_ids) == {"text": "", "num_tokens": 0}
