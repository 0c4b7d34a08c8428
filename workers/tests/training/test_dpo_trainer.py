"""DPO on the tiny Qwen2-VL with images: the vision inputs reach the model, metrics, resume."""

import json

import pytest
from dpo_inputs import MODEL_CFG, make_pairs, training
from ipa_worker.context import StageContext
from ipa_worker.errors import Cancelled
from ipa_worker.training.dpo_trainer import DpoJob, train_dpo
from ipa_worker.training.pair_dataset import rows_to_dataset
from model_folders import open_standard_way


@pytest.fixture
def record_vision_inputs(monkeypatch):
    from transformers.models.qwen2_vl import modeling_qwen2_vl

    seen = []
    original = modeling_qwen2_vl.Qwen2VLModel.forward

    def forward(self, *args, **kwargs):
        seen.append({k: kwargs.get(k) is not None for k in ("pixel_values", "image_grid_thw")})
        return original(self, *args, **kwargs)

    monkeypatch.setattr(modeling_qwen2_vl.Qwen2VLModel, "forward", forward)
    return seen


def test_dpo_step_sees_images_and_writes_metrics(tmp_path, tiny_model_dir, record_vision_inputs):
    metrics_path = tmp_path / "train_metrics.jsonl"
    job = DpoJob(
        start={"base": tiny_model_dir, "adapter": None},
        out_dir=str(tmp_path / "policy"),
        checkpoint_dir=str(tmp_path / "ckpt"),
        metrics_path=str(metrics_path),
    )
    result = train_dpo(rows_to_dataset(make_pairs(tmp_path, n=2)), job, training(), MODEL_CFG, ctx=StageContext())
    assert record_vision_inputs and all(s["pixel_values"] and s["image_grid_thw"] for s in record_vision_inputs)
    assert result["metrics"]["steps"] == 2
    lines = [json.loads(line) for line in metrics_path.read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2]
    for key in ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"):
        assert key in lines[0]
    assert lines[0]["model"] == "policy"
    # Wall time per step and TRL's running count of tokens trained on (chosen + rejected, image tokens too).
    assert all(line["seconds"] > 0 for line in lines)
    assert 0 < lines[0]["num_tokens"] < lines[1]["num_tokens"]
    out = tmp_path / "policy"
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert (out / "tokenizer_config.json").is_file()
    assert not (out / "ref").exists()
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert "visual" in cfg["target_modules"]  # the regex that keeps the vision tower adapter-free


def test_resume_continues_step_counter(tmp_path, tiny_model_dir):
    ds = rows_to_dataset(make_pairs(tmp_path, n=3))
    metrics_path = tmp_path / "m.jsonl"
    job = DpoJob(
        start={"base": tiny_model_dir, "adapter": None},
        out_dir=str(tmp_path / "policy"),
        checkpoint_dir=str(tmp_path / "ckpt"),
        metrics_path=str(metrics_path),
    )

    class CancelAfterTwo(StageContext):
        def check_cancelled(self):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls >= 2:
                raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train_dpo(ds, job, training(), MODEL_CFG, ctx=CancelAfterTwo())
    assert (tmp_path / "ckpt" / "checkpoint-1").is_dir()
    assert not (tmp_path / "policy").exists()

    result = train_dpo(ds, job, training(), MODEL_CFG, ctx=StageContext())
    assert result["metrics"]["resumed_from_step"] == 1
    assert result["metrics"]["steps"] == 3
    steps = [json.loads(line)["step"] for line in metrics_path.read_text().splitlines()]
    assert steps == [1, 2, 3]  # step 1 logged once, then 2 and 3 from the resumed run
    assert (tmp_path / "policy" / "adapter_config.json").is_file()


def test_checkpoints_kept_are_bounded_by_save_total_limit_and_the_newest_resumes(tmp_path, tiny_model_dir):
    ds = rows_to_dataset(make_pairs(tmp_path, n=4))
    ckpt = tmp_path / "ckpt"
    job = DpoJob(
        start={"base": tiny_model_dir, "adapter": None}, out_dir=str(tmp_path / "policy"), checkpoint_dir=str(ckpt)
    )
    left = lambda: sorted(int(d.name.split("-")[1]) for d in ckpt.iterdir() if d.name.startswith("checkpoint-"))  # noqa: E731

    class CancelAtFour(StageContext):
        def check_cancelled(self):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls >= 4:
                raise Cancelled("stop")

    # A checkpoint after every step; steps 1 to 3 saved, then a stop before step 4's save.
    with pytest.raises(Cancelled):
        train_dpo(ds, job, training(save_total_limit=1), MODEL_CFG, ctx=CancelAtFour())
    assert left() == [3]
    result = train_dpo(ds, job, training(save_total_limit=1), MODEL_CFG, ctx=StageContext())
    assert result["metrics"]["resumed_from_step"] == 3 and result["metrics"]["steps"] == 4
    assert left() == [4]
    assert (tmp_path / "policy" / "adapter_config.json").is_file()  # the trained model, apart from them


@pytest.mark.parametrize("reference_model", ["round_start", "initial"])
def test_continue_previous_adapter(tmp_path, tiny_model_dir, reference_model):
    ds = rows_to_dataset(make_pairs(tmp_path, n=1))
    first = train_dpo(
        ds,
        DpoJob(
            start={"base": tiny_model_dir, "adapter": None},
            out_dir=str(tmp_path / "r1"),
            checkpoint_dir=str(tmp_path / "c1"),
        ),
        training(),
        MODEL_CFG,
    )
    seen = {}

    from transformers import TrainerCallback

    class Peek(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            seen["adapters"] = sorted(model.peft_config)

    job = DpoJob(
        start={"base": tiny_model_dir, "adapter": first["output"]["path"]},
        out_dir=str(tmp_path / "r2"),
        checkpoint_dir=str(tmp_path / "c2"),
    )
    second = train_dpo(ds, job, training(reference_model=reference_model), MODEL_CFG, callbacks=[Peek()])
    assert second["metrics"]["steps"] == 1
    # round_start: TRL's frozen copy of the start adapter is the reference; initial: the bare base.
    assert seen["adapters"] == (["default", "ref"] if reference_model == "round_start" else ["default"])
    assert (tmp_path / "r2" / "adapter_config.json").is_file() and not (tmp_path / "r2" / "ref").exists()


def test_full_finetune_writes_a_checkpoint_that_opens_the_standard_way(tmp_path, tiny_model_dir):
    job = DpoJob(
        start={"base": tiny_model_dir, "adapter": None},
        out_dir=str(tmp_path / "policy"),
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    result = train_dpo(
        rows_to_dataset(make_pairs(tmp_path, n=1)), job, training(full_finetune=True, save_steps=50), MODEL_CFG
    )
    assert result["metrics"]["steps"] == 1 and result["metrics"]["full_finetune"]
    assert open_standard_way(tmp_path / "policy") == ("Qwen2VLProcessor", "qwen2_vl", False)
