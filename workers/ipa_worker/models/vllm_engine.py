"""The `vllm` sampling backend: vLLM's offline engine, one engine per base model, roles as LoRA
adapters on it (the generator's and reviser's adapters share one base's weights in memory).

Same output as `generation.generate` (`{"text", "num_tokens"}` per prompt). Each request carries
its own seed, so a shard's responses do not depend on how vLLM schedules the batch.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Callable

from ..errors import BadInput
from ..seeding import stable_seed
from .processor import load_processor

_ENGINES: dict[tuple[str, str], Any] = {}


def available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def require() -> None:
    if not available():
        raise BadInput(
            "sampling.backend is 'vllm' but the vllm package is not installed in this worker's Python "
            "(docker/worker.Dockerfile installs a pinned one); set sampling.backend: hf or install vllm"
        )


def build_requests(prompts: list[dict[str, Any]], render: Callable[[list[dict[str, Any]]], str]) -> list[dict[str, Any]]:
    """vLLM prompt dicts: the chat-rendered text plus the images as multi-modal data."""
    out = []
    for p in prompts:
        req: dict[str, Any] = {"prompt": render(p["messages"])}
        if p.get("images"):
            req["multi_modal_data"] = {"image": list(p["images"]) if len(p["images"]) > 1 else p["images"][0]}
        out.append(req)
    return out


def request_seeds(seed: int, n: int) -> list[int]:
    """One seed per request, derived from the shard's seed (stable across schedules)."""
    return [stable_seed("vllm", seed, i) % (2**31 - 1) for i in range(n)]


def _engine(model_cfg: dict[str, Any], base: str, max_images: int):
    from vllm import LLM

    dtype = model_cfg["dtype"]
    key = (base, dtype)
    if key not in _ENGINES:
        _ENGINES[key] = LLM(
            model=base,
            dtype="auto" if dtype == "auto" else dtype,
            enable_lora=True,
            max_lora_rank=64,
            limit_mm_per_prompt={"image": max(1, max_images)},
            mm_processor_kwargs={"min_pixels": int(model_cfg["min_pixels"]), "max_pixels": int(model_cfg["max_pixels"])},
            seed=0,
        )
    return _ENGINES[key]


def generate_vllm(
    spec: dict[str, Any],
    model_cfg: dict[str, Any],
    prompts: list[dict[str, Any]],
    *,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Each prompt's own "seed" seeds its request (as in the hf backend); `seed` derives the rest."""
    require()
    from vllm import SamplingParams
    from vllm.lora.request import LoRARequest

    processor = load_processor(spec["base"], min_pixels=int(model_cfg["min_pixels"]), max_pixels=int(model_cfg["max_pixels"]))
    render = lambda messages: processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)  # noqa: E731
    engine = _engine(model_cfg, spec["base"], max((len(p.get("images", [])) for p in prompts), default=1))
    params = [
        SamplingParams(temperature=float(temperature), top_p=float(top_p) if temperature > 0 else 1.0, max_tokens=int(max_new_tokens), seed=s)
        for s in [int(p["seed"]) % (2**31 - 1) if "seed" in p else d for p, d in zip(prompts, request_seeds(seed, len(prompts)))]
    ]
    lora = LoRARequest("adapter", stable_seed("lora", spec["adapter"], bits=30) + 1, spec["adapter"]) if spec["adapter"] else None
    outputs = engine.generate(build_requests(prompts, render), params, lora_request=lora, use_tqdm=False)
    return [{"text": o.outputs[0].text.strip(), "num_tokens": len(o.outputs[0].token_ids)} for o in outputs]
