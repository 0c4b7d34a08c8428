"""Batched generation with a loaded Qwen2-VL (chat prompts with images).

Reproducibility: each batch seeds torch from (seed, batch index) right before `generate`, so the
same prompts, seed and batch size give the same texts on the same device and software.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..data.image_limits import ProcessorLimits, image_problem
from ..seeding import stable_seed


def user_messages(instruction: str, n_images: int = 1) -> list[dict[str, Any]]:
    """One user turn in HF chat format: image placeholders first, then the instruction."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": instruction})
    return [{"role": "user", "content": content}]


def batch_seed(seed: int, batch_index: int) -> int:
    """The torch seed used for batch `batch_index` of a `generate` call with `seed`."""
    return stable_seed("generate", int(seed), int(batch_index), bits=62)


def _eos_ids(lm) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(lm.model, "generation_config", None), getattr(lm.model, "config", None)):
        eos = getattr(source, "eos_token_id", None)
        if eos is not None:
            ids.update(eos if isinstance(eos, (list, tuple)) else [eos])
    tok = lm.processor.tokenizer
    for t in (tok.eos_token_id, tok.pad_token_id):
        if t is not None:
            ids.add(int(t))
    return ids


def _encode(processor, texts: list[str], images: list) -> Any:
    """Processor inputs for a batch, left-padded (every prompt's last token at the end, where generation continues)."""
    tokenizer = processor.tokenizer
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        return processor(text=texts, images=images or None, padding=True, return_tensors="pt")
    finally:
        tokenizer.padding_side = previous_side


def _encode_batch(processor, limits: ProcessorLimits, batch: list[dict[str, Any]], texts: list[str]) -> tuple[list[str | None], Any]:
    """Why the processor cannot take each prompt's images (None: it can), and the encoded inputs of
    the prompts it can take (None when there are none). The size checks come first; only when the
    processor still refuses the batch is each prompt tried alone: an item fails, never its batch."""

    def images(idx: list[int]) -> list:
        return [img for i in idx for img in batch[i].get("images", [])]

    problems = [next((pr for pr in (image_problem(img, limits) for img in p.get("images", [])) if pr), None) for p in batch]
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
    seed: int,
    batch_size: int,
    on_batch: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Answer each prompt `{"images": [PIL], "messages": [...]}`; returns `{"text", "num_tokens"}` per prompt.

    temperature 0 is greedy decoding. `on_batch(done, total)` runs after each batch (progress,
    cancellation). `num_tokens` counts generated tokens before the end-of-turn token. A prompt
    whose images the processor cannot take (data.image_limits) is not generated for: its entry
    is `{"text": "", "num_tokens": 0, "error": reason}` and the rest of its batch goes on.
    """
    processor = lm.processor
    tokenizer = processor.tokenizer
    limits = ProcessorLimits.from_processor(processor)
    batch_size = max(1, int(batch_size))
    eos = _eos_ids(lm)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(eos))
    results: list[dict[str, Any]] = []
    n_batches = math.ceil(len(prompts) / batch_size)
    for b in range(n_batches):
        batch = prompts[b * batch_size : (b + 1) * batch_size]
        texts = [processor.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True) for p in batch]
        problems, inputs = _encode_batch(processor, limits, batch, texts)
        answers: dict[int, dict[str, Any]] = {i: {"text": "", "num_tokens": 0, "error": pr} for i, pr in enumerate(problems) if pr}
        if inputs is not None:
            ok = [i for i, pr in enumerate(problems) if pr is None]
            answers.update(zip(ok, _generate_batch(lm, inputs, seed=batch_seed(seed, b), eos=eos, pad_id=pad_id, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens)))
        results.extend(answers[i] for i in range(len(batch)))
        if on_batch is not None:
            on_batch(len(results), len(prompts))
    return results


def _generate_batch(lm, inputs, *, seed: int, eos: set[int], pad_id: int, temperature: float, top_p: float, max_new_tokens: int) -> list[dict[str, Any]]:
    """Generate for one encoded batch, torch seeded with `seed`; `{"text", "num_tokens"}` per prompt, in order."""
    import torch

    model, tokenizer = lm.model, lm.processor.tokenizer
    inputs = inputs.to(lm.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    gen_kwargs: dict[str, Any] = {"max_new_tokens": int(max_new_tokens), "pad_token_id": pad_id}
    if temperature and temperature > 0:
        gen_kwargs.update(do_sample=True, temperature=float(temperature), top_p=float(top_p), top_k=0)
    else:
        gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    torch.manual_seed(seed)  # also seeds CUDA
    with torch.inference_mode():
        out = model.generate(**inputs, **gen_kwargs)  # input_ids, attention_mask, pixel_values, image_grid_thw
    results = []
    for row in out[:, inputs["input_ids"].shape[1] :].tolist():
        n = len(row)
        for i, t in enumerate(row):
            if t in eos:
                n = i
                break
        results.append({"text": tokenizer.decode(row[:n], skip_special_tokens=True).strip(), "num_tokens": n})
    return results
