"""Model pool and batched generation with the tiny Qwen2-VL."""

from __future__ import annotations

import pytest
from PIL import Image

from ipa_worker.errors import BadInput
from ipa_worker.models.generation import generate
from ipa_worker.models.messages import user_messages
from ipa_worker.models.model_pool import LoadedModel, ModelPool, resolve_device_dtype

CPU = {"device": "cpu", "dtype": "auto", "attn_implementation": "sdpa", "min_pixels": 56 * 56, "max_pixels": 112 * 112}


def _prompts() -> list[dict]:
    colours = ["red", "blue", "green", "yellow", "purple"]
    out = []
    for i, c in enumerate(colours):
        text = "What colour is the shape?" + " Answer with one word." * (i % 3)  # different prompt lengths: padding matters
        out.append({"images": [Image.new("RGB", (56, 56), c)], "messages": user_messages(text, 1)})
    return out


def test_user_messages_format():
    assert user_messages("Hi?", 2) == [
        {"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "Hi?"}]}
    ]


def test_pool_caches_evicts_and_clears(tiny_model_dir, model_pool):
    spec = {"base": tiny_model_dir, "adapter": None}
    lm = model_pool.get(spec, CPU)
    assert isinstance(lm, LoadedModel) and lm.device == "cpu" and not lm.model.training
    assert lm.key == (tiny_model_dir, None, "cpu", "float32")
    assert model_pool.get(spec, CPU) is lm
    assert resolve_device_dtype({"device": "cpu", "dtype": "bfloat16"}) == ("cpu", "bfloat16")

    small = ModelPool(max_loaded=1)
    first = small.get(spec, CPU)
    second = small.get(spec, {**CPU, "dtype": "bfloat16"})
    assert small.keys() == [second.key] and first.model is None  # evicted and released
    small.clear()
    assert len(small) == 0
    with pytest.raises(BadInput, match="no config.json"):
        small.get({"base": tiny_model_dir + "-missing", "adapter": None}, CPU)


def test_pool_loads_a_lora_adapter(tiny_model_dir, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import Qwen2VLForConditionalGeneration

    base = Qwen2VLForConditionalGeneration.from_pretrained(tiny_model_dir)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(tmp_path / "adapter")
    pool = ModelPool(max_loaded=1)
    lm = pool.get({"base": tiny_model_dir, "adapter": str(tmp_path / "adapter")}, CPU)
    assert isinstance(lm.model, PeftModel) and not lm.model.training
    assert lm.key[1] == str(tmp_path / "adapter")
    out = generate(lm, _prompts()[:1], temperature=0, max_new_tokens=2, seed=0, batch_size=1)
    assert len(out) == 1
    pool.clear()


def test_sampling_is_reproducible_and_seed_dependent(tiny_model_dir, model_pool):
    lm = model_pool.get({"base": tiny_model_dir, "adapter": None}, CPU)
    kw = dict(temperature=1.0, top_p=0.95, max_new_tokens=6, batch_size=2)
    a = generate(lm, _prompts(), seed=3, **kw)
    b = generate(lm, _prompts(), seed=3, **kw)
    c = generate(lm, _prompts(), seed=4, **kw)
    assert a == b
    assert [x["text"] for x in a] != [x["text"] for x in c]
    assert all(0 <= x["num_tokens"] <= 6 and isinstance(x["text"], str) for x in a)


def test_a_sampled_text_depends_on_its_prompt_and_seed_only(tiny_model_dir, model_pool):
    """Per-prompt seeds: the batch size (an OOM retry halves it) and the batch's other prompts
    change nothing; each prompt's own seed does."""
    lm = model_pool.get({"base": tiny_model_dir, "adapter": None}, CPU)
    kw = dict(temperature=1.0, top_p=0.9, max_new_tokens=6)
    prompts = [{**p, "seed": 100 + i} for i, p in enumerate(_prompts())]
    whole = generate(lm, prompts, batch_size=5, **kw)
    assert generate(lm, prompts, batch_size=2, **kw) == whole
    assert generate(lm, prompts, batch_size=1, **kw) == whole
    assert generate(lm, prompts[::-1], batch_size=5, **kw) == whole[::-1]
    reseeded = generate(lm, [{**p, "seed": 999 + i} for i, p in enumerate(prompts)], batch_size=5, **kw)
    assert [x["text"] for x in reseeded] != [x["text"] for x in whole]


def test_top_p_keeps_the_smallest_head_reaching_p():
    import torch

    from ipa_worker.models.generation import PerPromptSampler

    scores = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    picks = set()
    for s in range(200):
        out = PerPromptSampler([s], temperature=1.0, top_p=0.7)(None, scores.clone())
        picks.add(int(out.argmax()))
    assert picks == {0, 1}  # 0.5 + 0.3 reaches 0.7; tokens 2 and 3 are never drawn


def test_greedy_batched_equals_one_by_one(tiny_model_dir, model_pool):
    """Left padding and M-RoPE positions are right: a prompt's answer does not depend on its batch."""
    lm = model_pool.get({"base": tiny_model_dir, "adapter": None}, CPU)
    batched = generate(lm, _prompts(), temperature=0, max_new_tokens=5, seed=0, batch_size=5)
    single = generate(lm, _prompts(), temperature=0, max_new_tokens=5, seed=0, batch_size=1)
    assert batched == single


def test_image_grid_is_passed_to_generate(tiny_model_dir, model_pool, monkeypatch):
    lm = model_pool.get({"base": tiny_model_dir, "adapter": None}, CPU)
    seen = {}
    real = lm.model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(lm.model, "generate", spy)
    calls = []
    side = lm.processor.tokenizer.padding_side
    generate(lm, _prompts()[:3], temperature=0, max_new_tokens=2, seed=0, batch_size=2, on_batch=lambda d, t: calls.append((d, t)))
    assert seen["image_grid_thw"].tolist() == [[1, 4, 4]]  # the last batch holds one image
    assert "pixel_values" in seen and seen["attention_mask"].shape == seen["input_ids"].shape
    assert calls == [(2, 3), (3, 3)]
    assert lm.processor.tokenizer.padding_side == side  # left padding is only for generation
