"""What the experiment trackers wrote, read back with their own readers (TensorBoard events, W&B offline records)."""

from __future__ import annotations

import glob
import json
from pathlib import Path


def tensorboard_scalars(folder: str | Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) pairs of `tag`, read with TensorBoard's own event reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def tensorboard_tags(folder: str | Path) -> dict[str, list[str]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return acc.Tags()


def wandb_offline_run(wandb_dir: Path) -> dict:
    """The run record, config and history of the newest offline run, read with wandb's own record reader."""
    from wandb.proto import wandb_internal_pb2 as pb
    from wandb.sdk.internal.datastore import DataStore

    file = sorted(glob.glob(str(wandb_dir / "**" / "*.wandb"), recursive=True))[-1]
    store = DataStore()
    store.open_for_scan(file)
    out: dict = {"run": None, "config": {}, "history": []}
    while (data := store.scan_data()) is not None:
        rec = pb.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        updates = rec.run.config.update if kind == "run" else rec.config.update if kind == "config" else []
        if kind == "run":
            out["run"] = {"name": rec.run.display_name, "project": rec.run.project}
        for u in updates:
            out["config"][u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
        if kind == "history":
            out["history"].append(
                {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item}
            )
    return out
