"""Trainer callbacks: per-step metrics into the run's train_metrics.jsonl, progress and cancellation,
the mark that makes a checkpoint complete, the check that data-parallel ranks really share their
gradients, and the removal of the Trainer's own console output.

In a launched group every rank runs these callbacks with the same (gathered) values; only rank 0
writes files and reports, while the cancel check runs on every rank (it is a collective there).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ..data.jsonl_io import atomic_write_jsonl, read_jsonl
from . import collective
from .checkpoints import CHECKPOINT_MARK, prune_checkpoints

# `num_tokens`: TRL's running count of non-padding tokens trained on (chosen and rejected, image
# tokens included); with `seconds` it gives the training's tokens/s (tools/gpu_check reads both).
LOGGED = (
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "learning_rate",
    "num_tokens",
)


class MetricsCallback(TrainerCallback):
    """Writes one JSON line per logging step `{model, step, seconds, loss, rewards/..., num_tokens}`;
    reports progress. `seconds` is the wall time since the previous logged step (the first: since
    training began, so it includes the first step's warm-up); logging reads the loss off the device,
    so on a GPU the interval ends after the step's kernels did.

    The file is rewritten atomically on each log (it is small), so a crash never leaves half a
    line. Lines of this model past the step training resumes from are dropped at start: a
    retried job would otherwise log those steps twice. `ctx.check_cancelled()` after every step
    turns a cancel request into a `Cancelled` error; the last checkpoint stays for a resume.
    """

    def __init__(self, path: str | None, model_name: str, ctx: Any = None, label: str | None = None):
        self.path = path
        self.model_name = model_name
        self.ctx = ctx
        # What the progress line says is running, e.g. "policy DPO" (default: the model name).
        self.label = label or model_name
        self.rows: list[dict[str, Any]] = []
        self.logged: list[dict[str, Any]] = []  # this run's own lines, for the result metrics
        self._last_log = time.perf_counter()
        # TRL's running token count at the previous logged step (None until known): tokens/s.
        self._last_tokens: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_log = time.perf_counter()
        # A fresh start counts tokens from 0; a resumed one does not know the count it resumes at.
        self._last_tokens = 0.0 if int(state.global_step) == 0 else None
        if not state.is_world_process_zero:
            return
        if self.path and Path(self.path).is_file():
            start = int(state.global_step)
            self.rows = [
                r for r in read_jsonl(self.path) if r.get("model") != self.model_name or int(r.get("step", 0)) <= start
            ]
        if self.ctx is not None:
            self.ctx.progress(int(state.global_step), int(state.max_steps), force=True, phase=self.label)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:
            return  # the final train summary (train_loss, runtime) is not a step
        now = time.perf_counter()
        row: dict[str, Any] = {
            "model": self.model_name,
            "step": int(state.global_step),
            "seconds": round(now - self._last_log, 4),
        }
        self._last_log = now
        for key in LOGGED:
            if key in logs and isinstance(logs[key], (int, float)) and math.isfinite(float(logs[key])):
                row[key] = float(logs[key])
        self.rows.append(row)
        self.logged.append(row)
        if not state.is_world_process_zero:
            return
        if self.path:
            atomic_write_jsonl(self.path, self.rows)
        if self.ctx is not None:
            self.ctx.progress(int(state.global_step), int(state.max_steps), phase=self.label, **self._live(row))

    def _live(self, row: dict[str, Any]) -> dict[str, Any]:
        """What a watcher sees of a logged step: loss, the minibatch's reward accuracy (DPO), and
        the tokens trained on per second since the previous logged step (when TRL counts them)."""
        out: dict[str, Any] = {"loss": row.get("loss")}
        if "rewards/accuracies" in row:
            out["reward_accuracy"] = row["rewards/accuracies"]
        tokens = row.get("num_tokens")
        if tokens is not None:
            if self._last_tokens is not None and row["seconds"] > 0 and tokens >= self._last_tokens:
                out["tokens_per_s"] = round((tokens - self._last_tokens) / row["seconds"], 1)
            self._last_tokens = tokens
        return out

    def on_evaluate(self, args, state, control, **kwargs):
        self._eval_batches = 0

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        """The reward evaluation over every pair can take longer than the training itself: it
        reports a batch count too, so a watcher sees it move (the chaos harness's stall rule)."""
        self._eval_batches = getattr(self, "_eval_batches", 0) + 1
        if self.ctx is None or not state.is_world_process_zero:
            return
        total = len(eval_dataloader) if eval_dataloader is not None else 0
        self.ctx.progress(self._eval_batches, total, phase=f"{self.label}: reward evaluation")

    def on_step_end(self, args, state, control, **kwargs):
        if self.ctx is not None:
            self.ctx.check_cancelled()


class CheckpointMark(TrainerCallback):
    """Marks `checkpoint-N` complete once every rank has written its part of it, then keeps only
    the newest `keep` complete checkpoints (`training.dpo.save_total_limit`).

    Trainer writes `trainer_state.json` from rank 0 without waiting for the other ranks' files
    (each rank's RNG state), so in a group that file alone does not make a checkpoint whole. After
    a save, all ranks meet at a barrier and rank 0 writes `ipa_checkpoint.json`; `last_checkpoint`
    resumes only from marked folders (or single-process ones from before the mark existed). Older
    checkpoints go only after that, so one complete checkpoint is always on disk (checkpoints.py).
    """

    def __init__(self, keep: int):
        self.keep = keep

    def on_save(self, args, state, control, **kwargs):
        collective.barrier()
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            tmp = folder / f".{CHECKPOINT_MARK}.tmp"
            tmp.write_text(json.dumps({"step": int(state.global_step), "world_size": collective.world_size()}))
            os.replace(tmp, folder / CHECKPOINT_MARK)
            prune_checkpoints(args.output_dir, self.keep)


class DataParallelCheck(TrainerCallback):
    """Fails a DDP training whose model is not wrapped in DistributedDataParallel when it starts.

    Unwrapped, each rank would train alone on its share of the batch with no gradient all-reduce:
    the losses look plausible and rank 0 saves an adapter trained on half the data, so nothing else
    would say so. (It happened: `trainer.evaluate()` before `train()` marks the model as prepared
    for accelerate, which then skips the wrap; dpo_trainer.forget_evaluation_prepare undoes that.)
    """

    def __init__(self, trainer, strategy: str):
        self.trainer, self.strategy = trainer, strategy

    def on_train_begin(self, args, state, control, **kwargs):
        from torch.nn.parallel import DistributedDataParallel

        wrapped = self.trainer.model_wrapped
        if self.strategy == "ddp" and collective.world_size() > 1 and not isinstance(wrapped, DistributedDataParallel):
            raise RuntimeError(
                f"DDP training on {collective.world_size()} processes, but the model is not wrapped in "
                f"DistributedDataParallel ({type(wrapped).__name__}): the ranks would not share gradients"
            )


def quiet_trainer(trainer) -> None:
    """Drop the Trainer's console reporters: with tqdm off it prints every logged dict instead.
    Steps and losses reach the orchestrator through `MetricsCallback` as progress messages."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
