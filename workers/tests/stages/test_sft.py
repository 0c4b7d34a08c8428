"""SFT warm-up stage: trains on seed rows and leaves a complete, loadable checkpoint."""

import json

from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl
from ipa_worker.stages import sft as sft_stage
from model_folders import open_standard_way
from PIL import Image
from tracker_files import tensorboard_scalars


def write_seeds(tmp_path, n=2):
    rows = []
    for i in range(n):
        img = tmp_path / f"s{i}.png"
        Image.new("RGB", (56, 56), (200, 30 * i, 30)).save(img)
        rows.append(
            {
                "id": f"s{i}",
                "images": [str(img)],
                "instruction": "What colour?",
                "reference": "red",
                "task_type": "vqa",
                "source": "t",
            }
        )
    path = tmp_path / "seeds.jsonl"
    atomic_write_jsonl(path, rows)
    return str(path)


def test_sft_stage_full_finetune_checkpoint_loads(tmp_path, make_payload):
    payload = make_payload(
        "sft", tmp_path / "run", round=0,
        inputs={"seeds": write_seeds(tmp_path)},
        warmup={"sft": {"enabled": True, "epochs": 1, "batch_size": 1, "learning_rate": 1e-3}},
        model={"device": "cpu", "max_pixels": 56 * 56}, training={"report_to": "tensorboard"},
    )  # fmt: skip
    result = sft_stage.run(payload, StageContext())
    assert result["metrics"]["steps"] == 2 and result["metrics"]["final_loss"] is not None
    out = result["outputs"]["model"]["path"]
    assert open_standard_way(out) == ("Qwen2VLProcessor", "qwen2_vl", False)
    lines = [json.loads(x) for x in open(payload["outputs"]["metrics"]).read().splitlines()]
    assert [x["model"] for x in lines] == ["sft", "sft"]
    # training.report_to reaches the SFT trainer: TensorBoard has the same losses under the job's run name.
    tb = tmp_path / "run" / "tracking" / "tensorboard" / "test-run-r0-sft"
    assert [s for s, _ in tensorboard_scalars(tb, "train/loss")] == [1, 2]


def test_sft_lora_merged(tmp_path, make_payload):
    payload = make_payload(
        "sft", tmp_path / "run", round=0,
        inputs={"seeds": write_seeds(tmp_path, n=1)},
        warmup={"sft": {"enabled": True, "epochs": 1, "batch_size": 1, "full_finetune": False, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]}}},
        model={"device": "cpu", "max_pixels": 56 * 56},
    )  # fmt: skip
    result = sft_stage.run(payload, StageContext())
    out = result["outputs"]["model"]["path"]
    import os

    assert not os.path.exists(os.path.join(out, "adapter_config.json"))  # merged into the weights
    assert os.path.exists(os.path.join(out, "config.json"))
    assert open_standard_way(out) == ("Qwen2VLProcessor", "qwen2_vl", False)


def _visual_weights(folder: str) -> dict:
    from pathlib import Path

    from safetensors.torch import load_file

    weights = {}
    for f in sorted(Path(folder).glob("*.safetensors")):
        weights.update({k: v for k, v in load_file(str(f)).items() if "visual" in k})
    return weights


def test_the_vision_tower_trains_only_when_asked(tmp_path, make_payload, tiny_model_dir):
    import torch

    before = _visual_weights(tiny_model_dir)
    assert before
    changed = {}
    for train_vision in (False, True):
        payload = make_payload(
            "sft", tmp_path / f"run-{train_vision}", round=0,
            inputs={"seeds": write_seeds(tmp_path)},
            warmup={"sft": {"enabled": True, "epochs": 1, "batch_size": 1, "learning_rate": 1e-2, "train_vision": train_vision}},
            model={"device": "cpu", "max_pixels": 56 * 56},
        )  # fmt: skip
        after = _visual_weights(sft_stage.run(payload, StageContext())["outputs"]["model"]["path"])
        changed[train_vision] = sum(not torch.equal(before[k], after[k]) for k in before)
    assert changed[False] == 0 and changed[True] > 0


def test_a_resumed_full_finetune_goes_on_from_the_checkpoint_weights(tmp_path, make_payload):
    """A warm-up resumed from its last checkpoint publishes that checkpoint's weights, not the start
    model's (the Trainer's own resume matched no weight names of Qwen2-VL: training/trainable.py)."""
    import shutil

    import torch
    from safetensors.torch import load_file

    payload = make_payload(
        "sft", tmp_path / "run", round=0,
        inputs={"seeds": write_seeds(tmp_path)},
        warmup={"sft": {"enabled": True, "epochs": 1, "batch_size": 1, "learning_rate": 1e-2}},
        model={"device": "cpu", "max_pixels": 56 * 56}, training={"dpo": {"save_steps": 1}},
    )  # fmt: skip
    first = sft_stage.run(payload, StageContext())["outputs"]["model"]["path"]
    trained = load_file(f"{first}/model.safetensors")
    shutil.rmtree(first)  # interrupted after its last checkpoint, before publishing
    again = sft_stage.run(payload, StageContext())
    assert again["metrics"]["resumed_from_step"] == 2 and again["metrics"]["steps"] == 2
    resumed = load_file(f"{again['outputs']['model']['path']}/model.safetensors")
    assert all(torch.equal(trained[k], resumed[k]) for k in trained)
