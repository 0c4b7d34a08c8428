"""Export pair files for training elsewhere.

Which files: the ones `ipa export` names, i.e. the outputs of finished `pair` jobs as their done
records list them, each checked against its sha256 in Node first. Nothing is globbed: a pair file
dropped into a run directory, or one whose job never finished, is never exported.

Formats, each taken by TRL's DPOTrainer with no conversion:
- jsonl: the pair rows as they are (images as absolute paths; load with `load_dataset("json")`
  and cast `images` to `List(Image())`, or use `load_export`);
- parquet: the same rows with image bytes embedded (portable: no paths to keep valid);
- hf: a `save_to_disk` directory whose `images` column is a list of `Image` features, with a
  marker file (`.ipa-export.json`: run id and folder, kind, rows, time) by which `ipa export`
  knows an earlier export of the same run that it may replace (orchestrator/cli/export-target.ts
  decides what may be overwritten; nothing else is).

Every export is written into a fresh temporary file or folder beside the target, then renamed
into place. With `--run-dir`, only regular files inside the run are read (data/run_files.py).

CLI: python -m ipa_worker.tools.export OUT --format jsonl|parquet|hf --inputs-from FILE|- (one path a line)
     [--run-id ID --run-dir DIR --kind pairs|feedback_pairs]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..data.jsonl_io import atomic_write_jsonl, sha256_file
from ..data.run_files import iter_jsonl_in
from ..errors import BadInput

FORMATS = ("jsonl", "parquet", "hf")
# The marker of an hf export folder (orchestrator/cli/export-target.ts reads it).
EXPORT_MARKER = ".ipa-export.json"


def _rows(files: list[str], run_dir: str | None) -> list[dict[str, Any]]:
    return [row for f in files for row in iter_jsonl_in(f, run_dir)]


def export_pairs(
    files: list[str],
    out: str,
    fmt: str = "jsonl",
    *,
    run_id: str | None = None,
    run_dir: str | None = None,
    kind: str = "pairs",
) -> dict[str, Any]:
    """Write the rows of `files` (pair or feedback pair files, in order) to `out`; returns `{path, rows, sha256}`."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    rows = _rows(files, run_dir)
    if fmt == "jsonl":
        return atomic_write_jsonl(out, rows)
    from ..training.pair_dataset import rows_to_dataset
    from ..training.trainable import publish_dir

    if not rows:
        raise BadInput(f"no rows to export in {len(files)} file(s)")
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
    marker = {
        "run_id": run_id,
        "run_dir": run_dir,
        "kind": kind,
        "rows": len(rows),
        "exported_at": datetime.now(UTC).isoformat(),
    }

    def write(tmp: Path) -> None:
        ds.save_to_disk(str(tmp))
        (tmp / EXPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")

    record = publish_dir(out, write)
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


def _read_list(source: str) -> list[str]:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipa_worker.tools.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    parser.add_argument(
        "--inputs-from", required=True, help="a file listing the pair files to export, one a line ('-': stdin)"
    )
    parser.add_argument("--run-id", help="the run exported (written into an hf export's marker file)")
    parser.add_argument("--run-dir", help="read only regular files inside this run directory")
    parser.add_argument("--kind", default="pairs", choices=("pairs", "feedback_pairs"))
    args = parser.parse_args(argv)
    rec = export_pairs(
        _read_list(args.inputs_from), args.out, args.format, run_id=args.run_id, run_dir=args.run_dir, kind=args.kind
    )
    print(f"{rec['rows']} rows -> {rec['path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
