"""The model folder lmms-eval loads: an adapter's links and configs, a full checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.evaluation.lmms_model_dir import prepare_model_dir


def _adapter(tmp_path: Path, base: str) -> Path:
    adapter = tmp_path / "policy"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/moved/away", "peft_type": "LORA"})
    )
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    for name in ("tokenizer_config.json", "tokenizer.json", "processor_config.json", "chat_template.jinja"):
        shutil.copy(Path(base) / name, adapter / name)
    return adapter


def test_model_folder_for_an_adapter_links_weights_and_fixes_three_configs(tmp_path, tiny_model_dir):
    adapter = _adapter(tmp_path, tiny_model_dir)
    cfg = json.loads((adapter / "processor_config.json").read_text())
    cfg.pop("video_processor", None)  # as saved before checkpoints carried the entry
    (adapter / "processor_config.json").write_text(json.dumps(cfg))
    view = prepare_model_dir({"base": tiny_model_dir, "adapter": str(adapter)}, tmp_path / "view")
    assert (view / "adapter_model.safetensors").is_symlink() and (
        view / "adapter_model.safetensors"
    ).resolve() == adapter / "adapter_model.safetensors"
    assert json.loads((view / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        Path(tiny_model_dir).resolve()
    )
    assert json.loads((view / "tokenizer_config.json").read_text())["padding_side"] == "left"
    assert (
        json.loads((view / "processor_config.json").read_text())["video_processor"]["video_processor_type"]
        == "Qwen2VLVideoProcessor"
    )
    # The policy's own folder is untouched.
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == "/moved/away"
    assert "video_processor" not in json.loads((adapter / "processor_config.json").read_text())
    assert "padding_side" not in json.loads((adapter / "tokenizer_config.json").read_text())


def test_model_folder_for_a_full_checkpoint_loads_with_the_auto_classes(tmp_path, tiny_model_dir):
    from transformers import AutoProcessor, AutoTokenizer

    view = prepare_model_dir({"base": tiny_model_dir, "adapter": None}, tmp_path / "view")
    assert (view / "model.safetensors").is_symlink() and not (view / "adapter_config.json").exists()
    assert AutoTokenizer.from_pretrained(str(view)).padding_side == "left"
    assert type(AutoProcessor.from_pretrained(str(view))).__name__ == "Qwen2VLProcessor"
    with pytest.raises(BadInput, match="has no adapter_config.json"):
        prepare_model_dir({"base": tiny_model_dir, "adapter": str(tmp_path)}, tmp_path / "view2")
