"""Evaluation results into the recipe's experiment trackers (`training.report_to`).

One number per benchmark (`eval/<benchmark>`), at step = round, so a tracker draws each benchmark
over the rounds: TensorBoard in one folder per run (`<run dir>/tracking/tensorboard/<run id>-eval`),
the others as a run named `<run id>-r<round>-eval` with the recipe as config. The eval document is
the source of truth: a tracker that fails is reported in the job log and does not fail the job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..context import StageContext
from ..training.tracking import run_name, trackers_of


def scalars(by_benchmark: dict[str, Any]) -> dict[str, float]:
    return {
        f"eval/{name}": float(v)
        for name, v in by_benchmark.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _tensorboard(values: dict[str, float], *, run_dir: str, run_id: str, round: int, **_: Any) -> str:  # noqa: A002
    from torch.utils.tensorboard import SummaryWriter

    folder = Path(run_dir) / "tracking" / "tensorboard" / f"{run_id}-eval"
    with SummaryWriter(log_dir=str(folder)) as writer:
        for tag, value in values.items():
            writer.add_scalar(tag, value, global_step=round)
    return str(folder)


def _wandb(values: dict[str, float], *, recipe: dict[str, Any], run_dir: str, name: str, round: int, **_: Any) -> str:  # noqa: A002
    import os

    import wandb

    folder = Path(os.environ.get("WANDB_DIR") or Path(run_dir) / "tracking")
    folder.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        project=os.environ.get("WANDB_PROJECT", recipe["name"]),
        name=name,
        dir=str(folder),
        config={"recipe": recipe, "round": round},
    )
    run.log(values | {"round": round})
    run.finish()
    return name


def _mlflow(values: dict[str, float], *, recipe: dict[str, Any], name: str, round: int, **_: Any) -> str:  # noqa: A002
    import os

    import mlflow

    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", recipe["name"]))
    with mlflow.start_run(run_name=name):
        mlflow.log_metrics({k.replace("/", "_"): v for k, v in values.items()}, step=round)
        mlflow.log_dict(recipe, "recipe.json")
    return name


def _trackio(values: dict[str, float], *, recipe: dict[str, Any], name: str, round: int, **_: Any) -> str:  # noqa: A002
    import trackio

    trackio.init(project=recipe["name"], name=name, config={"recipe": recipe, "round": round})
    trackio.log(values)
    trackio.finish()
    return name


WRITERS: dict[str, Callable[..., str]] = {
    "tensorboard": _tensorboard,
    "wandb": _wandb,
    "mlflow": _mlflow,
    "trackio": _trackio,
}


def log_eval(
    recipe: dict[str, Any], by_benchmark: dict[str, Any], ctx: StageContext, *, run_id: str, run_dir: str, round: int
) -> list[str]:  # noqa: A002
    """Sends the round's numbers to every configured tracker; returns the trackers that took them."""
    trackers, values = trackers_of(recipe["training"]["report_to"]), scalars(by_benchmark)
    if not trackers or not values:
        return []
    name = run_name(run_id, round, "eval")
    done = []
    for tracker in trackers:
        try:
            where = WRITERS[tracker](values, recipe=recipe, run_dir=run_dir, run_id=run_id, round=round, name=name)
        except Exception as exc:  # noqa: BLE001 - the eval file is written; tracking is a copy
            ctx.log(
                f"evaluation results not sent to {tracker}: {type(exc).__name__}: {exc}",
                level="warning",
                tracker=tracker,
            )
            continue
        ctx.log(f"evaluation results sent to {tracker}", tracker=tracker, where=where)
        done.append(tracker)
    return done
