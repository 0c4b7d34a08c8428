"""Export a run's response pairs (every round-*/pairs/*.jsonl) for training elsewhere.

Formats, each taken by TRL's DPOTrainer with no conversion:
- jsonl: the pair rows as they are (images as absolute paths; load with `load_dataset("json")`
  and cast `images` to `List(Image())`, or use `load_export`);
- parquet: the same rows with image bytes embedded (portable: no paths to keep valid);
- hf: a `save_to_disk` directory whose `images` column is a list of `Image` features.

CLI: python -m ipa_worker.tools.export RUN_DIR OUT --format jsonl|parquet|hf [--feedback]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..data.jsonl_io import atomic_write_jsonl, iter_jsonl, sha256_file
from ..errors import BadInput

FORMATS = ("jsonl", "parquet", "hf")


def pair_files(run_dir: str, kind: str = "pairs") -> list[str]:
    """The run's pair files in round then shard order (round-10 after round-9)."""

    def round_no(p: Path) -> int:
        return int(p.parent.parent.name.split("-", 1)[1])

    files = [p for p in Path(run_dir).glob(f"round-*/{kind}/*.jsonl") if p.parent.parent.name.split("-", 1)[1].isdigit()]
    return [str(p) for p in sorted(files, key=lambda p: (round_no(p), p.name))]


def _rows(files: list[str]) -> list[dict[str, Any]]:
    return [row for f in files for row in iter_jsonl(f)]


def export_pairs(run_dir: str, out: str, fmt: str = "jsonl", kind: str = "pairs") -> dict[str, Any]:
    """Write the run's `kind` rows (pairs or feedback_pairs) to `out`; returns `{path, rows, sha256}`."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    rows = _rows(pair_files(run_dir, kind))
    if fmt == "jsonl":
        return atomic_write_jsonl(out, rows)
    from ..training.trainable import publish_dir
    from ..training.pair_dataset import rows_to_dataset

    if not rows:
        raise BadInput(f"{run_dir}: no {kind} rows to export")
    ds = rows_to_dataset(rows)
    if fmt == "parquet":
        # Embed the image bytes, so the file stands alone; written beside the target, then renamed.
        import os

        from datasets.table import embed_table_storage

        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        ds = ds.with_format("arrow").map(embed_table_storage, batched=True).with_format(None)
        ds.to_parquet(str(tmp))
        os.replace(tmp, target)
        return {"path": str(target), "rows": len(rows), "sha256": sha256_file(target)}
    record = publish_dir(out, lambda tmp: ds.save_to_disk(str(tmp)))
    record["rows"] = len(rows)
    return record


def load_export(path: str):
    """An export as a `datasets.Dataset` ready for DPOTrainer (images as Image features)."""
    from datasets import Image, List, load_dataset, load_from_disk

    p = Path(path)
    if p.is_dir():
        return load_from_disk(str(p))
    kind = "parquet" if p.suffix == ".parquet" else "json"
    ds = load_dataset(kind, data_files=str(p), split="train")
    return ds.cast_column("images", List(Image()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipa_worker.tools.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("out")
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    parser.add_argument("--feedback", action="store_true", help="export the reviser's feedback pairs instead")
    args = parser.parse_args(argv)
    rec = export_pairs(args.run_dir, args.out, args.format, "feedback_pairs" if args.feedback else "pairs")
    print(f"{rec['rows']} rows -> {rec['path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
