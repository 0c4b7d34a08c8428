"""The model pool: caching, eviction, LoRA adapters."""

from __future__ import annotations

import pytest
from generation_inputs import CPU, colour_prompts

from ipa_worker.errors import BadInput
from ipa_worker.models.generation import generate

from ipa_worker.models.model_pool import LoadedModel, ModelPool, resolve_device_dtype


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
    out = generate(lm, colour_prompts()[:1], temperature=0, max_new_tokens=2, seed=0, batch_size=1)
    assert len(out) == 1
    pool.clear()
