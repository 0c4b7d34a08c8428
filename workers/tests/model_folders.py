"""Opening a model folder a run wrote as outside tools do."""

from __future__ import annotations

from pathlib import Path


def open_standard_way(folder: str | Path) -> tuple[str, str, bool]:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(str(folder))
    model = AutoModelForImageTextToText.from_pretrained(str(folder))
    adapter = bool(getattr(model, "_hf_peft_config_loaded", False))
    return type(processor).__name__, model.config.model_type, adapter
