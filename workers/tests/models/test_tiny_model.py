"""The tiny Qwen2-VL: loads with transformers, real processor and chat template, built once, deterministic."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
import torch
from ipa_worker.data.dirbuild import MARKER, build_dir_atomically
from ipa_worker.models.processor import load_processor
from ipa_worker.models.tiny_model import SPECIAL_TOKENS, build_config, build_tiny_model, is_complete_checkpoint, main


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_loads_with_transformers_and_has_the_real_architecture(tiny_model_dir):
    from transformers import Qwen2VLForConditionalGeneration

    model = Qwen2VLForConditionalGeneration.from_pretrained(tiny_model_dir)
    text, vision = model.config.text_config, model.config.vision_config
    head_dim = text.hidden_size // text.num_attention_heads
    assert 2 * sum(text.rope_parameters["mrope_section"]) == head_dim
    assert 2 <= text.num_hidden_layers <= 4 and vision.depth == 2
    assert vision.hidden_size == text.hidden_size  # the merger feeds the language model
    assert sum(p.numel() for p in model.parameters()) < 3_000_000
    assert is_complete_checkpoint(tiny_model_dir)


def test_processor_tokens_and_chat_template(tiny_model_dir):
    from PIL import Image

    proc = load_processor(tiny_model_dir, min_pixels=56 * 56, max_pixels=112 * 112)
    tok = proc.tokenizer
    ids = tok.convert_tokens_to_ids(SPECIAL_TOKENS)
    assert len(set(ids)) == len(SPECIAL_TOKENS) and tok.unk_token_id not in ids
    assert tok.decode(tok("<|im_start|>user").input_ids) == "<|im_start|>user"
    assert len(tok("<|image_pad|>").input_ids) == 1
    text = "Grüße, 東京 €5 — ok?"
    assert tok.decode(tok(text).input_ids) == text  # byte-level: any text round-trips
    assert tok("red").input_ids == [tok.convert_tokens_to_ids("red")]  # task answers are single tokens

    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What colour is the circle?"}]}]
    prompt = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert prompt == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What colour is the circle?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    with_system = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
    ]
    assert proc.apply_chat_template(with_system, tokenize=False) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
    )
    batch = proc(text=[prompt], images=[Image.new("RGB", (56, 56), "red")], return_tensors="pt")
    assert batch["image_grid_thw"].tolist() == [[1, 4, 4]]
    assert int((batch["input_ids"] == tok.convert_tokens_to_ids("<|image_pad|>")).sum()) == 4  # 16 patches / 2x2 merge


def test_forward_pass_uses_the_image(tiny_model_dir):
    from PIL import Image
    from transformers import Qwen2VLForConditionalGeneration

    model = Qwen2VLForConditionalGeneration.from_pretrained(tiny_model_dir).eval()
    proc = load_processor(tiny_model_dir)
    prompt = proc.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Colour?"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    logits = []
    for colour in ("red", "blue"):
        batch = proc(text=[prompt], images=[Image.new("RGB", (56, 56), colour)], return_tensors="pt")
        with torch.no_grad():
            logits.append(model(**batch).logits[0, -1])
    assert not torch.allclose(logits[0], logits[1])


def test_idempotent_concurrent_and_deterministic(tiny_model_dir, tmp_path):
    marker = Path(tiny_model_dir) / MARKER
    before = marker.stat().st_mtime_ns
    assert build_tiny_model(tiny_model_dir, seed=0) == tiny_model_dir
    assert marker.stat().st_mtime_ns == before  # not rebuilt

    # Two builders racing on one new folder: one builds, both get the same complete checkpoint.
    target = tmp_path / "racing"
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(build_tiny_model(str(target), seed=0))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [str(target), str(target)]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".racing.build")] == []
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert _sha(target / name) == _sha(Path(tiny_model_dir) / name), name  # same seed, same bytes


def test_seed_changes_the_weights(tiny_model_dir):
    from transformers import Qwen2VLForConditionalGeneration

    proc = load_processor(tiny_model_dir)
    torch.manual_seed(1)
    other = Qwen2VLForConditionalGeneration(build_config(proc.tokenizer))
    saved = Qwen2VLForConditionalGeneration.from_pretrained(tiny_model_dir)
    name = "model.language_model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(dict(other.named_parameters())[name], dict(saved.named_parameters())[name])


def test_incomplete_folder_is_replaced_and_failed_build_leaves_nothing(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "half-written.bin").write_bytes(b"x")

    def build(d: Path) -> None:
        (d / "payload.txt").write_text("ok")

    build_dir_atomically(target, build, lambda p: (p / MARKER).exists(), {"v": 1})
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "payload.txt"]

    def crash(d: Path) -> None:
        (d / "partial").write_text("x")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        build_dir_atomically(tmp_path / "crashed", crash, lambda p: (p / MARKER).exists(), {"v": 1})
    assert not (tmp_path / "crashed").exists()
    assert [p.name for p in tmp_path.iterdir() if ".build-" in p.name] == []


def test_cli_returns_existing_checkpoint(tiny_model_dir, capsys):
    assert main([tiny_model_dir, "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip() == tiny_model_dir
