"""Batched generation with a loaded Qwen2-VL (chat prompts with images).

Reproducibility: every prompt carries its own seed. Sampling draws one uniform number per step
from that prompt's own generator and picks the token by inverse CDF over the temperature and
top-p distribution, so a text depends on its prompt and seed only — not on which prompts share
its batch or how large the batch is (an out-of-memory retry with half the batch writes the same
texts). Greedy decoding (temperature 0) needs no seed.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

from ..data.image_limits import ProcessorLimits, image_problem
from ..seeding import stable_seed


def prompt_seeds(seed: int, n: int) -> list[int]:
    """Per-prompt seeds derived from one call seed, for callers with no seed of their own per item."""
    return [stable_seed("generate", int(seed), i, bits=62) for i in range(n)]


class PerPromptSampler:
    """A logits processor that samples each row with that row's own generator.

    It returns logits that are -inf everywhere but at the drawn token, so `generate` run greedy
    picks exactly that token. The uniforms come from CPU generators (one scalar per row and step);
    the distribution stays on the model's device.
    """

    def __init__(self, seeds: list[int], temperature: float, top_p: float):
        import torch

        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.temperature = float(temperature)
        self.top_p = float(top_p)

    def __call__(self, input_ids, scores):
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        if self.top_p < 1.0:
            # Keep the smallest head whose mass reaches top_p (the first token always stays).
            outside = sorted_probs.cumsum(dim=-1) - sorted_probs >= self.top_p
            sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        cdf = sorted_probs.cumsum(dim=-1)
        u = torch.stack([torch.rand((), generator=g) for g in self.generators]).to(cdf.device).unsqueeze(-1)
        pick = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=cdf.shape[-1] - 1)
        token = order.gather(-1, pick)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(-1, token, 0.0)


def end_token_ids(tokenizer, *configs) -> set[int]:
    """Ids that end a response: the configs' `eos_token_id`s (generation config, model config) and
    the tokenizer's end and padding tokens."""
    ids: set[int] = set()
    for source in configs:
        eos = getattr(source, "eos_token_id", None)
        if eos is not None:
            ids.update(eos if isinstance(eos, (list, tuple)) else [eos])
    for t in (tokenizer.eos_token_id, tokenizer.pad_token_id):
        if t is not None:
            ids.add(int(t))
    return ids


def answer(tokenizer, token_ids, end_ids: set[int]) -> dict[str, Any]:
    """One response's `{"text", "num_tokens"}` from generated ids, whatever the backend: the
    tokens before the first end token, decoded without special tokens."""
    n = next((i for i, t in enumerate(token_ids) if t in end_ids), len(token_ids))
    return {"text": tokenizer.decode(list(token_ids[:n]), skip_special_tokens=True).strip(), "num_tokens": n}


def _encode(processor, texts: list[str], images: list) -> Any:
    """Processor inputs for a batch, left-padded (every prompt's last token at the end, where generation continues)."""
    tokenizer = processor.tokenizer
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        return processor(text=texts, images=images or None, padding=True, return_tensors="pt")
    finally:
        tokenizer.padding_side = previous_side


def _encode_batch(
    processor, limits: ProcessorLimits, batch: list[dict[str, Any]], texts: list[str]
) -> tuple[list[str | None], Any]:
    """Why the processor cannot take each prompt's images (None: it can), and the encoded inputs of
    the prompts it can take (None when there are none). The size checks come first; only when the
    processor still refuses the batch is each prompt tried alone: an item fails, never its batch."""

    def images(idx: list[int]) -> list:
        return [img for i in idx for img in batch[i].get("images", [])]

    problems = [
        next((pr for pr in (image_problem(img, limits) for img in p.get("images", [])) if pr), None) for p in batch
    ]
    ok = [i for i, pr in enumerate(problems) if pr is None]
    if not ok:
        return problems, None
    try:
        return problems, _encode(processor, [texts[i] for i in ok], images(ok))
    except (ValueError, TypeError, RuntimeError):
        pass
    for i in ok:
        try:
            _encode(processor, [texts[i]], images([i]))
        except (ValueError, TypeError, RuntimeError) as exc:
            problems[i] = f"the image processor refused it: {exc}"
    ok = [i for i, pr in enumerate(problems) if pr is None]
    return problems, (_encode(processor, [texts[i] for i in ok], images(ok)) if ok else None)


def generate(
    lm,
    prompts: list[dict[str, Any]],
    *,
    temperature: float,
    top_p: float = 1.0,
    max_new_tokens: int,
    batch_size: int,
    seed: int = 0,
    on_batch: Callable[..., None] | None = None,
) -> list[dict[str, Any]]:
    """Answer each prompt `{"images": [PIL], "messages": [...], "seed"?: int}`; returns `{"text", "num_tokens"}` per prompt.

    temperature 0 is greedy decoding. Sampling uses each prompt's "seed", or one derived from
    `seed` and the prompt's index when it has none. `on_batch(done, total, tokens_per_s=...)` runs
    after each batch (progress, cancellation): generated tokens per second since the call began. `num_tokens` counts generated tokens before the end-of-turn token. A
    prompt whose images the processor cannot take (data.image_limits) is not generated for: its
    entry is `{"text": "", "num_tokens": 0, "error": reason}` and the rest of its batch goes on.
    """
    processor = lm.processor
    tokenizer = processor.tokenizer
    limits = ProcessorLimits.from_processor(processor)
    batch_size = max(1, int(batch_size))
    eos = end_token_ids(tokenizer, getattr(lm.model, "generation_config", None), getattr(lm.model, "config", None))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(eos))
    sampling = bool(temperature and temperature > 0)
    fallback = prompt_seeds(seed, len(prompts)) if sampling else []
    results: list[dict[str, Any]] = []
    n_batches = math.ceil(len(prompts) / batch_size)
    started = time.monotonic()
    for b in range(n_batches):
        first = b * batch_size
        batch = prompts[first : first + batch_size]
        texts = [
            processor.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True) for p in batch
        ]
        problems, inputs = _encode_batch(processor, limits, batch, texts)
        answers: dict[int, dict[str, Any]] = {
            i: {"text": "", "num_tokens": 0, "error": pr} for i, pr in enumerate(problems) if pr
        }
        if inputs is not None:
            ok = [i for i, pr in enumerate(problems) if pr is None]
            seeds = [int(batch[i].get("seed", fallback[first + i])) for i in ok] if sampling else None
            answers.update(
                zip(
                    ok,
                    _generate_batch(
                        lm,
                        inputs,
                        seeds=seeds,
                        eos=eos,
                        pad_id=pad_id,
                        temperature=temperature,
                        top_p=top_p,
                        max_new_tokens=max_new_tokens,
                    ),
                )
            )
        results.extend(answers[i] for i in range(len(batch)))
        if on_batch is not None:
            seconds = time.monotonic() - started
            tokens = sum(r["num_tokens"] for r in results)
            on_batch(len(results), len(prompts), tokens_per_s=round(tokens / seconds, 1) if seconds > 0 else None)
    return results


def _generate_batch(
    lm,
    inputs,
    *,
    seeds: list[int] | None,
    eos: set[int],
    pad_id: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
) -> list[dict[str, Any]]:
    """Generate for one encoded batch, greedy or (with `seeds`, one per row) sampled by `PerPromptSampler`; `{"text", "num_tokens"}` per prompt, in order."""
    import torch
    from transformers import LogitsProcessorList

    tokenizer = lm.processor.tokenizer
    inputs = inputs.to(lm.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(lm.model.dtype)
    gen_kwargs: dict[str, Any] = {"max_new_tokens": int(max_new_tokens), "pad_token_id": pad_id}
    gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if seeds is not None:
        gen_kwargs["logits_processor"] = LogitsProcessorList([PerPromptSampler(seeds, temperature, top_p)])
    # A role's adapter is switched on for the call (`HfRole.using`): the engine's adapters are shared.
    with torch.inference_mode(), lm.using() if hasattr(lm, "using") else contextlib.nullcontext():
        out = lm.model.generate(**inputs, **gen_kwargs)  # input_ids, attention_mask, pixel_values, image_grid_thw
    return [answer(tokenizer, row, eos) for row in out[:, inputs["input_ids"].shape[1] :].tolist()]
