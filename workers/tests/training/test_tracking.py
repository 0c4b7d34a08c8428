"""Experiment tracking: `training.report_to` reaches TRL with the run name and project; TensorBoard
and W&B (offline, no account) are written for real and read back with their own readers; a
tracker that is not installed is a clear error before training."""

from __future__ import annotations

import importlib.util
import json

import pytest
from dpo_inputs import MODEL_CFG, make_pairs, training
from ipa_worker.context import StageContext
from ipa_worker.errors import BadInput
from ipa_worker.training.batch_layout import split_batch
from ipa_worker.training.dpo_trainer import DpoJob, dpo_config, train_dpo
from ipa_worker.training.pair_dataset import rows_to_dataset
from ipa_worker.training.strategy import strategy_args
from ipa_worker.training.tracking import Tracking, flat, trackers_of, tracking_for
from payloads import default_recipe, fill_defaults
from tracker_files import tensorboard_scalars, tensorboard_tags, wandb_offline_run


def test_the_setting_reaches_trl_for_every_tracker(tmp_path):
    assert (
        trackers_of("none") == []
        and trackers_of("wandb") == ["wandb"]
        and trackers_of(["mlflow", "trackio", "mlflow"]) == ["mlflow", "trackio"]
    )
    one = {
        "layout": split_batch(1, 1, 1, field="f"),
        "strategy": strategy_args("single", timeout_s=60, gradient_checkpointing=False),
    }
    off = dpo_config(training().dpo, checkpoint_dir=str(tmp_path), device="cpu", **one)
    assert off.report_to == []
    on = Tracking(trackers=["tensorboard", "wandb", "mlflow", "trackio"], run_name="run-7-r2-reviser", project="tiny")
    args = dpo_config(training().dpo, checkpoint_dir=str(tmp_path), device="cpu", tracking=on, **one)
    assert (
        args.report_to == ["tensorboard", "wandb", "mlflow", "trackio"]
        and args.run_name == "run-7-r2-reviser"
        and args.project == "tiny"
    )
    assert flat({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": "[1, 2]", "d": None}


@pytest.mark.parametrize("tracker, package", [("mlflow", "mlflow-skinny"), ("trackio", "trackio")])
def test_a_tracker_that_is_not_installed_is_a_clear_error(tmp_path, tiny_model_dir, tracker, package):
    recipe = fill_defaults(default_recipe(tiny_model_dir)) | {"training": {"report_to": [tracker]}}
    if importlib.util.find_spec(tracker) is not None:
        assert tracking_for(recipe, run_id="r", run_dir=str(tmp_path), round=1, model="policy").trackers == [tracker]
        return
    with pytest.raises(
        BadInput,
        match=rf"training.report_to includes {tracker}, but the worker environment lacks the {tracker} package \(pip install {package}\)",
    ):
        tracking_for(recipe, run_id="r", run_dir=str(tmp_path), round=1, model="policy")


def test_dpo_reports_to_tensorboard_and_wandb_offline(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")  # no account, no network
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    (tmp_path / "wandb").mkdir()
    recipe = fill_defaults(default_recipe(tiny_model_dir, name="trackme"))
    tracking = Tracking(
        trackers=["tensorboard", "wandb"],
        run_name="run-1-r1-policy",
        project="trackme",
        run_dir=str(tmp_path / "run"),
        recipe=recipe,
    )
    metrics_path = tmp_path / "train_metrics.jsonl"
    job = DpoJob(
        start={"base": tiny_model_dir, "adapter": None},
        out_dir=str(tmp_path / "policy"),
        checkpoint_dir=str(tmp_path / "ckpt"),
        metrics_path=str(metrics_path),
    )
    result = train_dpo(
        rows_to_dataset(make_pairs(tmp_path, n=2)),
        job,
        training(save_steps=50),
        MODEL_CFG,
        ctx=StageContext(),
        tracking=tracking,
    )
    ours = [(r["step"], r["loss"]) for r in map(json.loads, metrics_path.read_text().splitlines())]
    assert result["metrics"]["steps"] == len(ours) == 2

    # TensorBoard: the run's own folder, the same losses as train_metrics.jsonl, the recipe as text and hparams.
    tb = tmp_path / "run" / "tracking" / "tensorboard" / "run-1-r1-policy"
    assert [(s, pytest.approx(v, rel=1e-5)) for s, v in tensorboard_scalars(tb, "train/loss")] == ours
    tags = tensorboard_tags(tb)
    assert "recipe/text_summary" in tags["tensors"] and "train/rewards/margins" in tags["scalars"]

    # W&B offline: a run named after the job, in the recipe's project, with the recipe and the losses.
    run = wandb_offline_run(tmp_path / "wandb")
    assert run["run"] == {"name": "run-1-r1-policy", "project": "trackme"}
    assert run["config"]["recipe"]["name"] == "trackme" and run["config"]["recipe"]["training"]["report_to"] == "none"
    logged = [(h["train/global_step"], h["train/loss"]) for h in run["history"] if "train/loss" in h]
    assert [(s, pytest.approx(v, rel=1e-5)) for s, v in logged] == ours
