"""The `vllm` sampling backend: vLLM's offline engine, one engine per worker process, roles as
LoRA adapters on it (the generator's and reviser's adapters share one base's weights in memory).

Rows are the `hf` backend's (`generation.answer`): the tokens before the first end token, decoded
by the checkpoint's own tokenizer, so both backends count and print a response the same way
(vLLM keeps the end token in its ids and holds back an incomplete UTF-8 tail in its text). Each
request carries its prompt's own seed (the sample stage's per-response seed, the row's
`gen_seed`), so a response does not depend on how vLLM batches them. The two backends draw
differently, so sampled texts differ between them; greedy ones agree.

The engine is built for what the recipe asks (`engine_settings`): images per prompt, pixel
bounds, the LoRA rank slot, `sampling.vllm` (memory share, sequence length). A call that needs
other settings replaces it, so one process never holds two engines. An adapter is known to the
engine by its content, not its path: a retried train job republishes new weights at the same
path, and the engine must not keep serving the old ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any, Callable

from ..errors import BadInput
from ..seeding import stable_seed
from .generation import answer, end_token_ids
from .memory import release_memory
from .processor import load_processor

# The LoRA ranks vLLM's kernels take (max_lora_rank must be one of them).
LORA_RANK_SLOTS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
_ENGINE: dict[str, Any] = {"key": None, "llm": None, "processor": None, "end_ids": None}
_ADAPTER_IDS: dict[tuple, tuple[str, int]] = {}


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


def request_seeds(prompts: list[dict[str, Any]], seed: int) -> list[int]:
    """One seed per request: the prompt's own "seed" (the hf backend's per-prompt seed, so a
    response depends on its prompt and seed only), else one derived from `seed` and its index."""
    return [int(p["seed"]) % (2**31 - 1) if "seed" in p else stable_seed("vllm", seed, i) % (2**31 - 1) for i, p in enumerate(prompts)]


def lora_rank_slot(rank: int) -> int:
    """The smallest rank slot vLLM offers that holds an adapter of rank `rank`."""
    for slot in LORA_RANK_SLOTS:
        if slot >= rank:
            return slot
    raise BadInput(f"LoRA rank {rank} is above the largest vLLM supports ({LORA_RANK_SLOTS[-1]}); lower training.lora.r")


def engine_settings(model_cfg: dict[str, Any], vllm_cfg: dict[str, Any], base: str, max_images: int, lora_rank: int) -> dict[str, Any]:
    """The `vllm.LLM` arguments: also the engine's identity (a call needing others rebuilds it)."""
    dtype = model_cfg["dtype"]
    return {
        "model": base,
        "dtype": "auto" if dtype == "auto" else dtype,
        "enable_lora": True,
        "max_lora_rank": lora_rank_slot(lora_rank),
        "max_loras": 2,  # the generator's and the reviser's adapters at once
        "limit_mm_per_prompt": {"image": max(1, max_images), "video": 0},  # no memory set aside for videos
        "mm_processor_kwargs": {"min_pixels": int(model_cfg["min_pixels"]), "max_pixels": int(model_cfg["max_pixels"])},
        "max_model_len": int(vllm_cfg["max_model_len"]),
        "gpu_memory_utilization": float(vllm_cfg["gpu_memory_utilization"]),
        "seed": 0,
    }


def check_loadable(base: str) -> None:
    """vLLM builds the full Qwen2-VL processor, video part included: a folder must say how.

    Hub checkpoints carry preprocessor_config.json; folders saved by transformers without
    torchvision carry only an image processor unless a `video_processor` entry was added.
    """
    folder = Path(base)
    if (folder / "video_preprocessor_config.json").is_file() or (folder / "preprocessor_config.json").is_file():
        return
    cfg_path = folder / "processor_config.json"
    if cfg_path.is_file() and json.loads(cfg_path.read_text()).get("video_processor"):
        return
    raise BadInput(
        f"vLLM cannot load the processor of {base}: it has no video processor configuration "
        "(preprocessor_config.json, video_preprocessor_config.json or a video_processor entry in processor_config.json); "
        "save the checkpoint's processor with one, or use sampling.backend: hf"
    )


def close_engine() -> None:
    """Stops the engine's background processes and frees its memory (before another is built, or
    at exit); nothing to do when none is running."""
    if _ENGINE["llm"] is None:
        return
    llm, _ENGINE["llm"], _ENGINE["key"] = _ENGINE["llm"], None, None
    core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if core is not None and hasattr(core, "shutdown"):
        core.shutdown()
    del llm
    release_memory()


def engine(settings: dict[str, Any]):
    """The process's engine for `settings` (built once; replaced when the settings change)."""
    key = json.dumps(settings, sort_keys=True)
    if _ENGINE["key"] != key:
        from transformers import AutoConfig, GenerationConfig
        from vllm import LLM

        base = settings["model"]
        check_loadable(base)
        close_engine()
        mm = settings["mm_processor_kwargs"]
        processor = load_processor(base, min_pixels=mm["min_pixels"], max_pixels=mm["max_pixels"])
        try:
            gen_cfg = GenerationConfig.from_pretrained(base)
        except OSError:
            gen_cfg = None
        end_ids = end_token_ids(processor.tokenizer, gen_cfg, AutoConfig.from_pretrained(base))
        _ENGINE.update(llm=LLM(**settings), processor=processor, end_ids=end_ids, key=key)
    return _ENGINE["llm"], _ENGINE["processor"], _ENGINE["end_ids"]


def adapter_identity(path: str) -> tuple[str, int]:
    """(name, id) of an adapter folder for vLLM, from its files' contents (cached by size and mtime)."""
    folder = Path(path)
    files = [folder / "adapter_config.json", *sorted(folder.glob("adapter_model.*"))]
    cache_key = (str(folder.resolve()), tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()))
    if cache_key not in _ADAPTER_IDS:
        h = hashlib.sha256()
        for f in files:
            if f.is_file():
                h.update(f.name.encode() + b"\0" + f.read_bytes())
        digest = h.hexdigest()
        _ADAPTER_IDS[cache_key] = (f"adapter-{digest[:16]}", stable_seed("lora", digest, bits=30) + 1)
    return _ADAPTER_IDS[cache_key]


def adapter_rank(path: str) -> int:
    cfg = Path(path) / "adapter_config.json"
    if not cfg.is_file():
        raise BadInput(f"adapter not found: {path} has no adapter_config.json")
    return int(json.loads(cfg.read_text()).get("r", 1))


def generate_vllm(
    spec: dict[str, Any],
    model_cfg: dict[str, Any],
    vllm_cfg: dict[str, Any],
    prompts: list[dict[str, Any]],
    *,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int = 0,
    lora_rank: int,
) -> list[dict[str, Any]]:
    """Answer each prompt like `generation.generate` does (`{"text", "num_tokens"}`); each prompt's
    own "seed" seeds its request (`request_seeds`).

    `lora_rank` is the rank adapters are trained with (training.lora.r): the engine is built to
    take it, so the adapters of later rounds do not force a rebuild.
    """
    require()
    from vllm import SamplingParams
    from vllm.lora.request import LoRARequest

    adapter = spec["adapter"]
    rank = max(int(lora_rank), adapter_rank(adapter) if adapter else 1)
    max_images = max((len(p.get("images", [])) for p in prompts), default=1)
    llm, processor, end_ids = engine(engine_settings(model_cfg, vllm_cfg, str(spec["base"]), max_images, rank))
    render = lambda messages: processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)  # noqa: E731
    seeds = request_seeds(prompts, seed)
    params = [
        SamplingParams(temperature=float(temperature), top_p=float(top_p) if temperature > 0 else 1.0, max_tokens=int(max_new_tokens), seed=s)
        for s in seeds
    ]
    lora = LoRARequest(*adapter_identity(adapter), adapter) if adapter else None
    outputs = llm.generate(build_requests(prompts, render), params, lora_request=lora, use_tqdm=False)
    return [answer(processor.tokenizer, o.outputs[0].token_ids, end_ids) for o in outputs]
