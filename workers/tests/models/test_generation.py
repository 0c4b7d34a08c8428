"""Batched generation with the tiny Qwen2-VL: reproducible, seeded per prompt, batch-independent."""

from __future__ import annotations

from generation_inputs import CPU, colour_prompts
from ipa_worker.models.generation import generate


def test_sampling_is_reproducible_and_seed_dependent(tiny_model_dir, engines):
    lm = engines.hf_role({"base": tiny_model_dir, "adapter": None}, CPU)
    kw = dict(temperature=1.0, top_p=0.95, max_new_tokens=6, batch_size=2)
    a = generate(lm, colour_prompts(), seed=3, **kw)
    b = generate(lm, colour_prompts(), seed=3, **kw)
    c = generate(lm, colour_prompts(), seed=4, **kw)
    assert a == b
    assert [x["text"] for x in a] != [x["text"] for x in c]
    assert all(0 <= x["num_tokens"] <= 6 and isinstance(x["text"], str) for x in a)


def test_a_sampled_text_depends_on_its_prompt_and_seed_only(tiny_model_dir, engines):
    """Per-prompt seeds: the batch size (an OOM retry halves it) and the batch's other prompts
    change nothing; each prompt's own seed does."""
    lm = engines.hf_role({"base": tiny_model_dir, "adapter": None}, CPU)
    kw = dict(temperature=1.0, top_p=0.9, max_new_tokens=6)
    prompts = [{**p, "seed": 100 + i} for i, p in enumerate(colour_prompts())]
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


def test_greedy_batched_equals_one_by_one(tiny_model_dir, engines):
    """Left padding and M-RoPE positions are right: a prompt's answer does not depend on its batch."""
    lm = engines.hf_role({"base": tiny_model_dir, "adapter": None}, CPU)
    batched = generate(lm, colour_prompts(), temperature=0, max_new_tokens=5, seed=0, batch_size=5)
    single = generate(lm, colour_prompts(), temperature=0, max_new_tokens=5, seed=0, batch_size=1)
    assert batched == single


def test_image_grid_is_passed_to_generate(tiny_model_dir, engines, monkeypatch):
    lm = engines.hf_role({"base": tiny_model_dir, "adapter": None}, CPU)
    seen = {}
    real = lm.model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(lm.model, "generate", spy)
    calls = []
    side = lm.processor.tokenizer.padding_side
    generate(
        lm,
        colour_prompts()[:3],
        temperature=0,
        max_new_tokens=2,
        seed=0,
        batch_size=2,
        on_batch=lambda d, t, **m: calls.append((d, t, m)),
    )
    assert seen["image_grid_thw"].tolist() == [[1, 4, 4]]  # the last batch holds one image
    assert "pixel_values" in seen and seen["attention_mask"].shape == seen["input_ids"].shape
    assert [(d, t) for d, t, _ in calls] == [(2, 3), (3, 3)]
    # Each batch also says how fast it generates (what ipa status shows beside a long sample job).
    assert all(m["tokens_per_s"] is not None and m["tokens_per_s"] >= 0 for _, _, m in calls)
    assert lm.processor.tokenizer.padding_side == side  # left padding is only for generation
