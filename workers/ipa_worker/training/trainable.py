"""What DPO and SFT share: loading a trainable model, LoRA targets, precision, publishing a folder."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from ..contract.recipe_types import TrainingLora, WarmupSftLora
from ..data.jsonl_io import DIR_MODE, make_dirs
from ..errors import BadInput
from ..models.device import attn_implementation, resolve_device_dtype
from ..models.processor import load_processor


def load_trainable(spec: dict[str, Any], model_cfg: dict[str, Any], *, merge_adapter: bool):
    """(model, processor, device) for training from `{base, adapter}`.

    merge_adapter: fold an existing adapter into the weights (full fine-tuning, SFT); otherwise
    it is loaded trainable as the PEFT "default" adapter (DPO continuing the previous round's).
    """
    import torch
    from transformers import AutoModelForImageTextToText

    device, dtype = resolve_device_dtype(model_cfg)
    base = spec["base"]
    if not (Path(base) / "config.json").is_file():
        raise BadInput(f"model checkpoint not found: {base} has no config.json")
    model = AutoModelForImageTextToText.from_pretrained(
        base,
        dtype=getattr(torch, dtype),
        attn_implementation=attn_implementation(model_cfg["attn_implementation"], device),
    )
    adapter = spec["adapter"]
    if adapter:
        if not (Path(adapter) / "adapter_config.json").is_file():
            raise BadInput(f"adapter not found: {adapter} has no adapter_config.json")
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=not merge_adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    processor = load_processor(base, model_cfg["min_pixels"], model_cfg["max_pixels"])
    return model, processor, device


def lora_config(lora: TrainingLora | WarmupSftLora):
    """LoRA on the language model only: the regex keeps the vision tower (whose MLP may share
    names such as gate_proj in Qwen2.5-VL) frozen and adapter-free."""
    from peft import LoraConfig

    names = "|".join(sorted(set(lora.target_modules)))
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=rf"^(?!.*visual).*\.({names})$",
        task_type="CAUSAL_LM",
    )


def freeze_vision(model) -> None:
    """Full fine-tuning trains the language model only, as the recipe says; the vision tower stays."""
    for name, param in model.named_parameters():
        if "visual" in name:
            param.requires_grad_(False)


def use_bf16(setting: str, device: str) -> bool:
    if setting == "on" and device != "cuda":
        raise BadInput("training bf16 is 'on' but no CUDA device is used")
    return setting == "on" or (setting == "auto" and device == "cuda")


def resume_start(start: dict[str, Any], resume: str | None, *, full: bool) -> dict[str, Any]:
    """What a training run loads its model from: a full fine-tuning run resumed from a checkpoint
    loads that checkpoint's weights, the Trainer then its optimiser, scheduler and step.

    The Trainer's own resume loads a full checkpoint by the names of the modules in memory, and for
    Qwen2-VL under transformers 5 those differ from the names on disk (`model.language_model.*` in
    memory, `model.layers.*` on disk), so nothing matched and the run went on from its start
    weights: a warm-up interrupted at step 253 resumed at step 241 with its loss back at 4.7 from
    0.12. LoRA adapters resume through PEFT and are not affected.
    """
    return {"base": resume, "adapter": None} if full and resume else start


def publish_dir(out_dir: str | os.PathLike, write) -> dict[str, Any]:
    """Run `write(tmp)` then swap tmp in for `out_dir` by rename, so readers never see half a model.

    Returns the output record `{path, rows: number of files, sha256 over names and contents}`.
    """
    target = Path(out_dir).resolve()
    make_dirs(target.parent)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=DIR_MODE)
    try:
        write(tmp)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return dir_record(target)


def dir_record(path: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        h.update(str(p.relative_to(path)).encode() + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return {"path": str(path), "rows": len(files), "sha256": h.hexdigest()}
