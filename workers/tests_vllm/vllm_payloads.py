"""Stage payloads of the vLLM tests: every one sets `ENGINE`, so all of them ask for the same vLLM
engine (one start per session), and names its backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from payloads import build_payload, deep_merge

PIXELS = 56 * 56
ENGINE = {
    "model": {"device": "cpu", "dtype": "float32", "min_pixels": PIXELS, "max_pixels": PIXELS},
    "generation": {"vllm": {"max_model_len": 1024}},
    "training": {"lora": {"r": 8}},
}


def payload(
    base: str,
    stage: str,
    run_dir,
    backend: str,
    *,
    inputs: dict[str, Any],
    models: dict[str, Any] | None = None,
    seed: int = 0,
    **over: Any,
) -> dict[str, Any]:
    recipe_over = deep_merge(deep_merge(ENGINE, {"generation": {"backend": backend}}), over)
    return build_payload(base, stage, run_dir, inputs=inputs, models=models, seed=seed, **recipe_over)


def publish_random_adapter(base: str, folder: Path, seed: int) -> str:
    """A LoRA adapter with random (non-zero) B matrices on the language model, published in place."""
    import torch
    from ipa_worker.contract.recipe_types import TrainingLora
    from ipa_worker.training.trainable import lora_config, publish_dir
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText

    cfg = lora_config(TrainingLora(r=8, alpha=16.0, dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"]))
    cfg.init_lora_weights = False
    torch.manual_seed(seed)
    model = get_peft_model(AutoModelForImageTextToText.from_pretrained(base), cfg)
    return publish_dir(folder, model.save_pretrained)["path"]
