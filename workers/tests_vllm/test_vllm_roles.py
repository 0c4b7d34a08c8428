"""Verify and revise on the vLLM engine against the hf backend, and the pixel bound on vLLM.

The model judge (the verifier's base role) and the reviser's feedback and refinement run through
their stages on both backends with greedy decoding: rows equal field by field, the reviser's LoRA
role follows its adapter on both. A 12 MP image reaches vLLM's engine bounded by
`model.max_pixels` (the processor's current `size` interface), or the test fails.
"""

from __future__ import annotations

from ipa_worker.context import StageContext
from ipa_worker.data.image_limits import ProcessorLimits, image_tokens
from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.stages import revise, verify
from method_shard import shard
from vllm_payloads import ENGINE, PIXELS, payload, publish_random_adapter

JUDGE = {"verifier": {"kind": "model", "max_new_tokens": 8}}
REVISER = {"reviser": {"temperature": 0.0, "max_new_tokens": 8, "max_revisions_per_seed": 2}}


def _verify(base, run, seeds, responses, engines, backend):
    p = payload(base, "verify", run, backend, inputs={"seeds": seeds, "responses": responses}, **JUDGE)
    result = verify.run(p, StageContext(models=engines))
    assert result["metrics"]["engine"] == backend and result["metrics"]["generated_tokens"] > 0
    return read_jsonl(result["outputs"]["verdicts"]["path"])


def _revise(base, run, seeds, responses, verdicts, engines, backend, adapter=None):
    p = payload(
        base, "revise", run, backend, inputs={"seeds": seeds, "responses": responses, "verdicts": verdicts}, **REVISER
    )
    p["models"]["reviser"]["adapter"] = adapter
    result = revise.run(p, StageContext(models=engines))
    assert result["metrics"]["engine"] == backend
    return read_jsonl(result["outputs"]["revisions"]["path"])


def test_the_judge_and_the_reviser_on_vllm_equal_the_hf_backend(tiny_model_dir, tmp_path, hf_engines, vllm_engines):
    seeds, responses = shard(tmp_path / "run")
    hf = _verify(tiny_model_dir, tmp_path / "hf", seeds, responses, hf_engines, "hf")
    vl = _verify(tiny_model_dir, tmp_path / "vllm", seeds, responses, vllm_engines, "vllm")
    assert len(vl) == 8 and vl == hf  # verdicts, checks, reasons and the judge's raw text

    # Revision needs failed responses: the rule's verdicts (a random judge states no checks).
    rule = payload(
        tiny_model_dir,
        "verify",
        tmp_path / "rule",
        "hf",
        inputs={"seeds": seeds, "responses": responses},
        verifier={"kind": "rule"},
    )
    verdicts = verify.run(rule, StageContext(models=hf_engines))["outputs"]["verdicts"]["path"]
    base_hf = _revise(tiny_model_dir, tmp_path / "rh", seeds, responses, verdicts, hf_engines, "hf")
    base_vl = _revise(tiny_model_dir, tmp_path / "rv", seeds, responses, verdicts, vllm_engines, "vllm")
    assert len(base_vl) == 8 and base_vl == base_hf  # feedback and refinement, greedy

    adapter = publish_random_adapter(tiny_model_dir, tmp_path / "round-1" / "models" / "reviser", seed=3)
    lora_hf = _revise(tiny_model_dir, tmp_path / "ah", seeds, responses, verdicts, hf_engines, "hf", adapter)
    lora_vl = _revise(tiny_model_dir, tmp_path / "av", seeds, responses, verdicts, vllm_engines, "vllm", adapter)
    assert lora_vl == lora_hf  # the reviser's LoRA role is the same on both engines
    assert [r["feedback"] for r in lora_vl] != [r["feedback"] for r in base_vl]  # and it is its adapter's


def test_a_large_image_reaches_vllm_bounded_by_max_pixels(tiny_model_dir, tmp_path, vllm_engines):
    from ipa_worker.models.messages import user_messages
    from PIL import Image
    from vllm import SamplingParams

    seeds, _ = shard(tmp_path / "run")
    vllm_engines.role(payload(tiny_model_dir, "sample", tmp_path, "vllm", inputs={"seeds": seeds}), "generator")
    engine = vllm_engines.current
    big = Image.new("RGB", (4000, 3000), (200, 30, 30))
    text = engine.render(user_messages("What colour?", 1))
    out = engine.llm.generate(
        [{"prompt": text, "multi_modal_data": {"image": big}}],
        SamplingParams(max_tokens=1, temperature=0.0),
        use_tqdm=False,
    )
    pad = engine.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    visual = sum(1 for t in out[0].prompt_token_ids if t == pad)
    limits = ProcessorLimits.from_processor(engine.processor)
    assert (limits.min_pixels, limits.max_pixels) == (PIXELS, ENGINE["model"]["max_pixels"])
    # 56 x 28 px after smart_resize: 2 tokens. The processor's default bound (12.8 MP) would give thousands.
    assert visual == image_tokens(4000, 3000, limits) == 2
