"""The process's one generation engine: reused between stages, replaced (never doubled) when a
stage needs another, and on the hf backend every role a named adapter on one base."""

from __future__ import annotations

import pytest
from generation_inputs import CPU, colour_prompts
from ipa_worker.errors import BadInput
from ipa_worker.models.device import resolve_device_dtype
from ipa_worker.models.engines import Engines
from ipa_worker.models.generation import generate
from ipa_worker.models.residency import resident_copies


@pytest.fixture
def alone(engines):
    """No other engine of the test session holds the tiny model while copies are counted."""
    engines.clear()
    return Engines()


def test_one_engine_is_reused_and_replaced_not_doubled(tiny_model_dir, alone):
    engines = alone
    spec = {"base": tiny_model_dir, "adapter": None}
    lm = engines.hf_role(spec, CPU)
    assert lm.device == "cpu" and not lm.model.training and lm.engine_name == "hf"
    assert engines.hf_role(spec, CPU).engine is lm.engine  # reused
    assert resolve_device_dtype({"device": "cpu", "dtype": "bfloat16"}) == ("cpu", "bfloat16")
    other = engines.hf_role(spec, {**CPU, "dtype": "bfloat16"})
    assert other.engine is not lm.engine and lm.engine.model is None  # replaced and released
    del lm, other
    assert resident_copies(tiny_model_dir) == 1
    engines.clear()
    assert engines.current is None and resident_copies(tiny_model_dir) == 0
    with pytest.raises(BadInput, match="no config.json"):
        engines.hf_role({"base": tiny_model_dir + "-missing", "adapter": None}, CPU)


def test_roles_switch_adapters_on_one_base(tiny_model_dir, tmp_path, alone):
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2VLForConditionalGeneration

    folders = []
    for seed in (1, 2):
        import torch

        torch.manual_seed(seed)
        cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        get_peft_model(Qwen2VLForConditionalGeneration.from_pretrained(tiny_model_dir), cfg).save_pretrained(
            tmp_path / f"a{seed}"
        )
        folders.append(str(tmp_path / f"a{seed}"))
    engines = alone
    prompts = colour_prompts()[:2]
    greedy = dict(temperature=0, max_new_tokens=4, seed=0, batch_size=2)
    base_alone = engines.hf_role({"base": tiny_model_dir, "adapter": None}, CPU).generate(prompts, **greedy)
    first, second = (engines.hf_role({"base": tiny_model_dir, "adapter": f}, CPU) for f in folders)
    base = engines.hf_role({"base": tiny_model_dir, "adapter": None}, CPU)
    assert first.engine is second.engine is base.engine and len(base.engine.adapter_names()) == 2
    a, b, c = (r.generate(prompts, **greedy) for r in (first, second, base))
    # Each role generates with its own weights, the base role with none, on one copy of the base.
    assert a != b and c == base_alone and a != c
    assert first.generate(prompts, **greedy) == a
    assert resident_copies(tiny_model_dir) == 1
    # What a retry does not need goes: here every adapter but the first.
    payload = {
        "models": {
            "generator": {"base": tiny_model_dir, "adapter": folders[0]},
            "verifier": {"base": tiny_model_dir, "adapter": None},
        }
    }
    assert engines.release_for_retry(payload) == [f"adapter {folders[1]}"]
    assert len(base.engine.adapter_names()) == 1 and first.generate(prompts, **greedy) == a
    assert generate(base, prompts, **greedy) == c  # the low-level loop switches the role's adapter too
    engines.clear()
