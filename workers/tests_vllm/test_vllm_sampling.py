"""The `vllm` backend on the tiny Qwen2-VL, through the sample stage, against the `hf` backend.

Both backends run here, in the vLLM environment (same torch and transformers), on the same
seeds: greedy rows agree field by field (the text decoded the same way, the same token counts,
normal and contrastive samples alike); sampled rows reproduce from their per-request seeds;
LoRA roles give what HF + PEFT gives, and an adapter republished at the same path is served
with its new weights.
"""

from __future__ import annotations

import shutil

from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.models.generation import answer
from ipa_worker.stages import sample
from vllm_payloads import payload, publish_random_adapter

COMPARED = ("seed_id", "sample_id", "kind", "perturbation", "image_sha256", "response", "num_tokens")


def run_sample(base, seeds_file, run_dir, engines, *, backend, temperature, adapter=None, seed=0) -> list[dict]:
    p = payload(
        base, "sample", run_dir, backend, inputs={"seeds": seeds_file}, seed=seed,
        sampling={"num_normal": 2, "num_contrastive": 2, "temperature": temperature, "max_new_tokens": 8, "batch_size": 24},
    )  # fmt: skip
    p["models"]["generator"]["adapter"] = adapter
    result = sample.run(p, StageContext(models=engines))
    assert result["failed_items"] == []
    assert result["metrics"]["engine"] == backend
    return read_jsonl(result["outputs"]["responses"]["path"])


def compared(rows: list[dict]) -> list[tuple]:
    return [tuple(r[k] for k in COMPARED) for r in rows]


def test_greedy_rows_match_the_hf_backend(tiny_model_dir, seeds_file, tmp_path, hf_engines, vllm_engines):
    hf = run_sample(tiny_model_dir, seeds_file, tmp_path / "hf", hf_engines, backend="hf", temperature=0.0)
    vl = run_sample(tiny_model_dir, seeds_file, tmp_path / "vllm", vllm_engines, backend="vllm", temperature=0.0)
    assert len(vl) == len(hf) == 6 * 4
    assert {r["kind"] for r in vl} == {"normal", "contrastive"}
    assert compared(vl) == compared(hf)
    assert all(set(a) == set(b) for a, b in zip(vl, hf))  # the same row contract, key for key


def test_sampled_rows_reproduce_from_their_seeds(tiny_model_dir, seeds_file, tmp_path, vllm_engines):
    a = run_sample(tiny_model_dir, seeds_file, tmp_path / "a", vllm_engines, backend="vllm", temperature=1.0)
    b = run_sample(tiny_model_dir, seeds_file, tmp_path / "b", vllm_engines, backend="vllm", temperature=1.0)
    c = run_sample(tiny_model_dir, seeds_file, tmp_path / "c", vllm_engines, backend="vllm", temperature=1.0, seed=1)
    assert a == b
    assert [r["response"] for r in a] != [r["response"] for r in c]
    # gen_seed is the response's own seed (it seeds its request): one per row.
    assert len({r["gen_seed"] for r in a}) == len(a)
    assert all(0 <= r["num_tokens"] <= 8 for r in a)


def test_lora_roles_follow_the_adapter_and_its_republished_weights(
    tiny_model_dir, seeds_file, tmp_path, hf_engines, vllm_engines
):
    folder = tmp_path / "round-1" / "models" / "policy"
    adapter = publish_random_adapter(tiny_model_dir, folder, seed=1)
    base_rows = run_sample(tiny_model_dir, seeds_file, tmp_path / "base", vllm_engines, backend="vllm", temperature=0.0)
    first = run_sample(
        tiny_model_dir, seeds_file, tmp_path / "v1", vllm_engines, backend="vllm", temperature=0.0, adapter=adapter
    )
    first_hf = run_sample(
        tiny_model_dir, seeds_file, tmp_path / "h1", hf_engines, backend="hf", temperature=0.0, adapter=adapter
    )
    assert compared(first) == compared(first_hf)
    assert [r["response"] for r in first] != [r["response"] for r in base_rows]

    # A retried train job publishes new weights at the same path: both engines must serve them.
    publish_random_adapter(tiny_model_dir, folder, seed=2)
    second = run_sample(
        tiny_model_dir, seeds_file, tmp_path / "v2", vllm_engines, backend="vllm", temperature=0.0, adapter=adapter
    )
    second_hf = run_sample(
        tiny_model_dir, seeds_file, tmp_path / "h2", hf_engines, backend="hf", temperature=0.0, adapter=adapter
    )
    assert compared(second) == compared(second_hf)
    assert [r["response"] for r in second] != [r["response"] for r in first]
    shutil.rmtree(folder)


def test_a_response_that_stops_on_the_end_token_does_not_count_it(tiny_model_dir, seeds_file, tmp_path, vllm_engines):
    # The random tiny model rarely ends on its own: only <|im_end|> (2) is allowed here. vLLM
    # keeps it in its ids; the row, like the hf backend's, counts the tokens before it.
    from vllm import SamplingParams

    vllm_engines.role(payload(tiny_model_dir, "sample", tmp_path, "vllm", inputs={"seeds": seeds_file}), "generator")
    engine = vllm_engines.current
    assert {0, 2} <= engine.end_ids  # <|endoftext|> and <|im_end|> of the tiny tokenizer
    out = engine.llm.generate(
        ["hello"], SamplingParams(max_tokens=4, temperature=0.0, allowed_token_ids=[2]), use_tqdm=False
    )
    ids = list(out[0].outputs[0].token_ids)
    assert ids == [2] and out[0].outputs[0].finish_reason == "stop"
    assert answer(engine.processor.tokenizer, ids, engine.end_ids) == {"text": "", "num_tokens": 0}
