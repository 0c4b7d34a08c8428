"""Experiment tracking (recipe `training.report_to`): what both trainers hand to TRL.

TRL's trainers report to TensorBoard, Weights & Biases, MLflow and trackio through transformers'
integration callbacks; this module gives them the run name `<run id>-r<round>-<model>`, the
project (the recipe's name), where to write, and the validated recipe as the run's config. The
run's own `train_metrics.jsonl` and the dashboard's curves do not depend on any of it.

Where each tracker writes, unless the worker's environment already says otherwise:
- tensorboard: `<run dir>/tracking/tensorboard/<run name>/` (TENSORBOARD_LOGGING_DIR);
- wandb: project = recipe name (WANDB_PROJECT), files under `<run dir>/tracking/` (WANDB_DIR);
  WANDB_MODE=offline works without an account (`wandb sync` uploads later);
- mlflow: experiment = recipe name (MLFLOW_EXPERIMENT_NAME); the server or store is the user's
  (MLFLOW_TRACKING_URI);
- trackio: project = recipe name; its local database under TRACKIO_DIR.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ..contract import schema_enum
from ..data.run_files import run_folder
from ..errors import BadInput

# The trackers training.report_to names, from the recipe schema (zod owns the list).
TRACKERS = tuple(name for name in schema_enum("training", "report_to") if name != "none")
# The Python package each tracker needs, and what to install when it is missing.
PACKAGES = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow", "mlflow-skinny"),
    "trackio": ("trackio", "trackio"),
}


def trackers_of(setting: str | list[str]) -> list[str]:
    """The recipe's `training.report_to` as a list ('none' → [])."""
    names = [setting] if isinstance(setting, str) else list(setting)
    names = [n for n in names if n != "none"]
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise BadInput(f"training.report_to: unknown tracker {unknown[0]!r} (one of none, {', '.join(TRACKERS)})")
    return list(dict.fromkeys(names))


def check_installed(trackers: list[str]) -> None:
    """A clear error before training starts, rather than transformers' deep in Trainer set-up."""
    for name in trackers:
        module, package = PACKAGES[name]
        if importlib.util.find_spec(module) is None:
            raise BadInput(
                f"training.report_to includes {name}, but the worker environment lacks the {module} package (pip install {package})"
            )


def run_name(run_id: str, round: int, model: str) -> str:  # noqa: A002 - the payload's field name
    return f"{run_id}-r{round}-{model}"


def flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a.b": 1}` from `{"a": {"b": 1}}`; lists become JSON text (trackers want scalars)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out |= flat(v, f"{prefix}{k}.")
        return out
    value = json.dumps(obj) if isinstance(obj, list) else obj
    return {prefix[:-1]: value}


@dataclass
class Tracking:
    """One trainer's tracking: empty `trackers` means none (TRL gets `report_to="none"`)."""

    trackers: list[str] = field(default_factory=list)
    run_name: str | None = None
    project: str = "ipa"
    run_dir: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)

    def trainer_args(self) -> dict[str, Any]:
        """Keyword arguments for `DPOConfig` / `SFTConfig`."""
        if not self.trackers:
            return {"report_to": "none"}
        return {"report_to": list(self.trackers), "run_name": self.run_name, "project": self.project}

    def callbacks(self) -> list[TrainerCallback]:
        return [RecipeConfigCallback(self)] if self.trackers else []

    def tensorboard_dir(self) -> str:
        return str(Path(self.run_dir or ".") / "tracking" / "tensorboard" / str(self.run_name))

    def attach(self, trainer) -> None:
        """Aims the integrations transformers built for `trainer` at this run's places.

        TensorBoard's callback read its folder when the trainer was built; it is set on the
        callback itself, so the policy and the reviser of one job write to folders of their own.
        The others read the environment when training starts; what the worker's environment
        already sets wins, and the values are the same for every trainer of a run.
        """
        if not self.trackers:
            return
        for cb in trainer.callback_handler.callbacks:
            if type(cb).__name__ == "TensorBoardCallback" and cb.tb_writer is None:
                cb.logging_dir = os.environ.get("TENSORBOARD_LOGGING_DIR") or self.tensorboard_dir()
        tracking_root = Path(self.run_dir or ".") / "tracking"
        if "wandb" in self.trackers:
            os.environ.setdefault("WANDB_PROJECT", self.project)
            if "WANDB_DIR" not in os.environ:
                tracking_root.mkdir(parents=True, exist_ok=True)
                os.environ["WANDB_DIR"] = str(tracking_root)
        if "mlflow" in self.trackers:
            os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", self.project)


def tracking_for(recipe: dict[str, Any], *, run_id: str, run_dir: str, round: int, model: str) -> Tracking:  # noqa: A002
    """The tracking of one trainer of a job, from the recipe; checks the trackers are installed,
    and that the run's `tracking` folder is its own (a link leading out of the run: BadInput)."""
    trackers = trackers_of(recipe["training"]["report_to"])
    check_installed(trackers)
    if trackers:
        run_folder(run_dir, "tracking")
    return Tracking(
        trackers=trackers,
        run_name=run_name(run_id, round, model),
        project=recipe["name"],
        run_dir=run_dir,
        recipe=recipe,
    )


class RecipeConfigCallback(TrainerCallback):
    """Logs the validated recipe as the run's config, and closes a W&B run at the end.

    Added after transformers' own integration callbacks, so their runs exist when it runs.
    """

    def __init__(self, tracking: Tracking):
        self.tracking = tracking

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        recipe, names = self.tracking.recipe, self.tracking.trackers
        if "tensorboard" in names:
            from torch.utils.tensorboard import SummaryWriter
            from torch.utils.tensorboard.summary import hparams

            with SummaryWriter(
                log_dir=os.environ.get("TENSORBOARD_LOGGING_DIR") or self.tracking.tensorboard_dir()
            ) as writer:
                writer.add_text("recipe", f"```json\n{json.dumps(recipe, indent=2)}\n```")
                params = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in flat(recipe).items()}
                for summary in hparams(params, {}):
                    writer.file_writer.add_summary(summary)
        if "wandb" in names:
            import wandb

            if wandb.run is not None:
                wandb.run.config.update({"recipe": recipe}, allow_val_change=True)
        if "mlflow" in names:
            import mlflow

            if mlflow.active_run() is not None:
                mlflow.log_dict(recipe, "recipe.json")
        if "trackio" in names:
            import trackio

            trackio.config.update({"recipe": recipe})

    def on_train_end(self, args, state, control, **kwargs):
        if "wandb" in self.tracking.trackers:
            import wandb

            if wandb.run is not None:
                wandb.finish()  # else the next trainer of this process would log into this run
