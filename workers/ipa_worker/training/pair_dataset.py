"""Pair JSONL files -> a `datasets.Dataset` that TRL's DPOTrainer takes as a vision dataset.

`images` becomes a list of `Image` features (paths, decoded to PIL lazily when a batch is
collated), so memory stays small however many pairs there are; the presence of `images` is
what makes DPOTrainer pick its vision collator (pixel_values + image_grid_thw). A row whose
image the processor would refuse is left out (and reported), so it cannot stop the training.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..data.image_limits import ProcessorLimits
from ..data.images import header_problem
from ..data.run_files import iter_jsonl_in
from ..errors import BadInput

PAIR_COLUMNS = ("id", "images", "prompt", "chosen", "rejected")


def read_pair_rows(
    paths: Iterable[str], limits: ProcessorLimits | None = None, run_dir: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of every pair file, with only the columns training needs, and `{id, reason}` for
    each row left out because the processor would refuse one of its images (checked per image
    file, once, from its header: with `limits`). Only regular files are read, and with `run_dir`
    only files inside the run (data/run_files.py): a pipe, or a link or record leading elsewhere,
    is a BadInput."""
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    problems: dict[str, str | None] = {}
    for path in paths:
        if not path or not Path(path).exists():
            raise BadInput(f"pair file not found: {path}")
        for row in iter_jsonl_in(path, run_dir):
            missing = [c for c in ("images", "prompt", "chosen", "rejected") if c not in row]
            if missing:
                raise BadInput(f"{path}: pair row {row.get('id')} lacks {', '.join(missing)}")
            rid = str(row.get("id", len(rows)))
            if limits is not None:
                for img in row["images"]:
                    if img not in problems:
                        problems[img] = header_problem(img, limits)
                bad = next((problems[img] for img in row["images"] if problems[img]), None)
                if bad:
                    failed.append({"id": rid, "reason": f"pair of seed {row.get('seed_id', '?')}: {bad}"})
                    continue
            seed_id = str(row.get("seed_id", row.get("id", len(rows))))
            rows.append({"id": rid, "seed_id": seed_id, **{c: row[c] for c in PAIR_COLUMNS[1:]}})
    return rows, failed


def split_by_seed(
    rows: list[dict[str, Any]], heldout: float, salt: str = "heldout-pairs"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train rows, held-out rows): a seed's pairs all go to one side, by a stable hash of its id,
    so the same seed is held out in every round and a held-out pair shares no seed with training."""
    from ..seeding import stable_seed

    cut = float(heldout) * (1 << 63)
    train, held = [], []
    for r in rows:
        (held if stable_seed(salt, r["seed_id"]) < cut else train).append(r)
    return train, held


def rows_to_dataset(rows: list[dict[str, Any]]):
    """A Dataset of pair rows whose `images` column holds Image features (PIL on access)."""
    from datasets import Dataset, Image, List

    ds = Dataset.from_list([{c: r[c] for c in PAIR_COLUMNS} for r in rows])
    return ds.cast_column("images", List(Image()))


def load_pairs(paths: Iterable[str], limits: ProcessorLimits | None = None, run_dir: str | None = None):
    """Pair JSONL files -> (Dataset or None when no row is usable, rows left out as failed items)."""
    rows, failed = read_pair_rows(paths, limits, run_dir)
    return (rows_to_dataset(rows) if rows else None), failed
