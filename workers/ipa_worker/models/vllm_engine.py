"""The `vllm` backend: vLLM's offline engine, one per worker process, every role a LoRA request on
it (the base role with none), so the generator's, reviser's and verifier's weights share one base.

Rows are the `hf` backend's (`generation.answer`): the tokens before the first end token, decoded
by the checkpoint's own tokenizer, so both backends count and print a response the same way
(vLLM keeps the end token in its ids and holds back an incomplete UTF-8 tail in its text). Each
request carries its prompt's own seed (the sample stage's per-response seed, the row's
`gen_seed`), so a response does not depend on how vLLM batches them. The two backends draw
differently, so sampled texts differ between them; greedy ones agree.

The engine is built for the run (`engine_settings`): the most images a prompt of the run can
hold and the longest sequence it can need (`run_limits`), the pixel bounds, the LoRA rank slot
and `generation.vllm`, so one engine serves every stage and role of a run. An adapter is known to
the engine by its content, not its path (`adapters.adapter_identity`).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data.image_limits import ProcessorLimits, image_problem, image_tokens
from ..errors import BadInput
from ..seeding import stable_seed
from .adapters import adapter_identity
from .generation import answer, end_token_ids
from .memory import release_memory
from .processor import load_processor, size_bounds
from .roles import GenerationStats, Role

# The LoRA ranks vLLM's kernels take (max_lora_rank must be one of them).
LORA_RANK_SLOTS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# Sequences vLLM schedules at once after an out-of-memory retry: this x the retry's batch_scale
# (ours; 256 is vLLM's offline default below H100-class cards). A first try keeps vLLM's default.
OOM_MAX_NUM_SEQS = 256


def available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def require() -> None:
    if not available():
        raise BadInput(
            "generation.backend is 'vllm' but the vllm package is not installed in this worker's Python "
            "(docker/worker.Dockerfile installs a pinned one); set generation.backend: hf or install vllm"
        )


def build_requests(
    prompts: list[dict[str, Any]], render: Callable[[list[dict[str, Any]]], str]
) -> list[dict[str, Any]]:
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
    return [
        int(p["seed"]) % (2**31 - 1) if "seed" in p else stable_seed("vllm", seed, i) % (2**31 - 1)
        for i, p in enumerate(prompts)
    ]


def lora_rank_slot(rank: int) -> int:
    """The smallest rank slot vLLM offers that holds an adapter of rank `rank`."""
    for slot in LORA_RANK_SLOTS:
        if slot >= rank:
            return slot
    raise BadInput(
        f"LoRA rank {rank} is above the largest vLLM supports ({LORA_RANK_SLOTS[-1]}); lower training.lora.r"
    )


def engine_settings(
    model_cfg: dict[str, Any],
    vllm_cfg: dict[str, Any],
    base: str,
    *,
    max_images: int,
    max_model_len: int,
    lora_rank: int,
    batch_scale: float = 1.0,
) -> dict[str, Any]:
    """The `vllm.LLM` arguments: also the engine's identity (other settings build another engine).

    `max_images` and `max_model_len` are the run's (`run_limits`), never one call's, so a shard
    with more images per prompt does not rebuild the engine. Pixel bounds go through the
    processor's `size` (transformers' current interface; vLLM completes its aliases).
    """
    dtype = model_cfg["dtype"]
    settings = {
        "model": base,
        "dtype": "auto" if dtype == "auto" else dtype,
        "enable_lora": True,
        "max_lora_rank": lora_rank_slot(lora_rank),
        "max_loras": 2,  # the generator's and the reviser's adapters at once (the base role needs no slot)
        "limit_mm_per_prompt": {"image": max(1, int(max_images)), "video": 0},  # no memory set aside for videos
        "mm_processor_kwargs": size_bounds(model_cfg["min_pixels"], model_cfg["max_pixels"]),
        "max_model_len": int(max_model_len),
        "gpu_memory_utilization": float(vllm_cfg["gpu_memory_utilization"]),
        "seed": 0,
    }
    if batch_scale < 1:
        settings["max_num_seqs"] = max(1, int(OOM_MAX_NUM_SEQS * batch_scale))
    return settings


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
        "save the checkpoint's processor with one, or use generation.backend: hf"
    )


class VllmEngine:
    """One `vllm.LLM` built from `settings` (`engine_settings`), with the checkpoint's processor."""

    name = "vllm"

    def __init__(self, settings: dict[str, Any], processor: Any = None):
        require()
        from transformers import AutoConfig, GenerationConfig
        from vllm import LLM

        base = settings["model"]
        check_loadable(base)
        self.base, self.settings = base, settings
        size = settings["mm_processor_kwargs"].get("size", {})
        self.processor = processor or load_processor(base, size.get("shortest_edge"), size.get("longest_edge"))
        try:
            gen_cfg = GenerationConfig.from_pretrained(base)
        except OSError:
            gen_cfg = None
        self.end_ids = end_token_ids(self.processor.tokenizer, gen_cfg, AutoConfig.from_pretrained(base))
        self.llm = LLM(**settings)

    @property
    def max_model_len(self) -> int:
        return int(self.settings["max_model_len"])

    def role(self, adapter: str | None, stats: GenerationStats | None = None) -> VllmRole:
        return VllmRole(self, adapter, stats)

    def drop_adapters(self, keep: set[str]) -> list[str]:
        """vLLM keeps at most `max_loras` adapters on the card and swaps them itself: nothing to drop here."""
        return []

    def render(self, messages: list[dict[str, Any]]) -> str:
        return self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def problems(self, prompts: list[dict[str, Any]], max_new_tokens: int) -> list[str | None]:
        """Why the engine cannot take each prompt (None: it can): an image the processor refuses,
        or a prompt whose tokens and `max_new_tokens` exceed the engine's `max_model_len`, which
        vLLM would refuse for the whole call (or cut the response short)."""
        limits = ProcessorLimits.from_processor(self.processor)
        tokenizer = self.processor.tokenizer
        out: list[str | None] = []
        for p in prompts:
            images = p.get("images", [])
            problem = next((pr for pr in (image_problem(img, limits) for img in images) if pr), None)
            if problem is None:
                text_tokens = len(tokenizer(self.render(p["messages"]), add_special_tokens=False)["input_ids"])
                # The rendered text holds one image placeholder per image; vLLM expands each.
                n = text_tokens - len(images) + sum(image_tokens(img.size[0], img.size[1], limits) for img in images)
                if n + max_new_tokens > self.max_model_len:
                    problem = f"the prompt ({n} tokens) and max_new_tokens ({max_new_tokens}) exceed generation.vllm.max_model_len {self.max_model_len}"
            out.append(problem)
        return out

    def generate(
        self,
        adapter: str | None,
        prompts: list[dict[str, Any]],
        *,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> list[dict[str, Any]]:
        """`{"text", "num_tokens"}` per prompt; `{"text": "", "num_tokens": 0, "error"}` for one it cannot take."""
        problems = self.problems(prompts, max_new_tokens)
        seeds = request_seeds(prompts, seed)
        ok = [i for i, pr in enumerate(problems) if pr is None]
        answers: dict[int, dict[str, Any]] = {
            i: {"text": "", "num_tokens": 0, "error": pr} for i, pr in enumerate(problems) if pr
        }
        if ok:
            kw = dict(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seeds=[seeds[i] for i in ok])
            answers.update(zip(ok, self._generate([prompts[i] for i in ok], adapter, **kw)))
        return [answers[i] for i in range(len(prompts))]

    def _generate(
        self,
        prompts: list[dict[str, Any]],
        adapter: str | None,
        *,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seeds: list[int],
    ) -> list[dict[str, Any]]:
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest

        params = [
            SamplingParams(
                temperature=float(temperature),
                top_p=float(top_p) if temperature > 0 else 1.0,
                max_tokens=int(max_new_tokens),
                seed=s,
            )
            for s in seeds
        ]
        lora = LoRARequest(*adapter_identity(adapter), adapter) if adapter else None
        outputs = self.llm.generate(build_requests(prompts, self.render), params, lora_request=lora, use_tqdm=False)
        return [answer(self.processor.tokenizer, o.outputs[0].token_ids, self.end_ids) for o in outputs]

    def close(self) -> None:
        """Stops the engine's background processes and frees its memory."""
        llm, self.llm = self.llm, None
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del llm
        release_memory()


class VllmRole(Role):
    engine_name = "vllm"

    def __init__(self, engine: VllmEngine, adapter: str | None, stats: GenerationStats | None = None):
        super().__init__(adapter, stats)
        self.engine = engine

    @property
    def processor(self) -> Any:
        return self.engine.processor

    def _generate(
        self,
        prompts: list[dict[str, Any]],
        *,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        batch_size: int,
        seed: int,
        on_batch,
    ) -> list[dict[str, Any]]:
        # vLLM schedules its own batches: `batch_size` is the hf backend's.
        answers = (
            self.engine.generate(
                self.adapter, prompts, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed
            )
            if prompts
            else []
        )
        if on_batch is not None:
            on_batch(len(prompts), len(prompts))
        return answers
