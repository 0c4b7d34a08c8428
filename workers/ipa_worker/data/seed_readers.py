"""Reading seed sources row by row: jsonl, parquet (file or folder), hf (`datasets.save_to_disk`
folder), sharegpt/LLaVA JSON.

Each reader yields `(line, raw row dict | RowError)`: a row that cannot even be decoded becomes
a RowError for that line, so the caller rejects it and goes on; only an unreadable source as a
whole is a BadInput (a corrupt Parquet page included: bad input, never an internal error that
would be retried). A JSON row nested deeper than the parser's recursion limit, or holding an
integer longer than Python converts (4300 digits), is one bad row like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..contract import seed_row_forms
from ..errors import BadInput
from .seed_rows import RowError

# The sharegpt layout's keys and speakers, each in order of preference (orchestrator/recipe/seed-row-forms.ts).
_CONVERSATION = seed_row_forms()["conversation"]


def _read_jsonl(path: Path, limit: int | None) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as fh:
        count = 0
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if limit is not None and count >= limit:
                return
            count += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, RowError(f"text is not valid UTF-8 (byte {exc.start})")
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line_no, RowError(f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            except (RecursionError, ValueError) as exc:
                yield line_no, RowError(_json_limit(exc))
                continue
            yield line_no, row if isinstance(row, dict) else RowError("row is not a JSON object")


def _json_limit(exc: BaseException) -> str:
    """Words for a JSON text the parser refuses for its size, not its syntax."""
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply (more levels than the parser allows)"
    return f"invalid JSON: {str(exc).split(';')[0]}"


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise BadInput(f"parquet source {path} contains no .parquet files")
        return files
    return [path]


def _read_parquet(path: Path, limit: int | None) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    line = 0
    for f in _parquet_files(path):
        try:
            pf = pq.ParquetFile(f)
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise BadInput(f"cannot read parquet file {f}: {exc}") from exc
        batches = pf.iter_batches(batch_size=256)
        while True:
            try:
                batch = next(batches, None)
                rows = [] if batch is None else batch.to_pylist()
            except Exception as exc:  # a corrupt page: pyarrow raises OSError, ArrowInvalid and others
                raise BadInput(
                    f"parquet file {f} is corrupt after row {line}: {str(exc).strip().splitlines()[0]}"
                ) from exc
            if batch is None:
                break
            for row in rows:
                if limit is not None and line >= limit:
                    return
                line += 1
                yield line, row


def _read_hf(path: Path, limit: int | None) -> Iterator[tuple[int, Any]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises FileNotFoundError and its own errors
        raise BadInput(f"cannot load HF dataset from {path}: {exc}") from exc
    if isinstance(ds, datasets.DatasetDict):
        split = "train" if "train" in ds else sorted(ds)[0]
        ds = ds[split]
    # Keep images as {"bytes", "path"}: we validate and store them ourselves.
    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Image):
            ds = ds.cast_column(name, datasets.Image(decode=False))
        elif isinstance(feature, (datasets.Sequence, datasets.List)) and isinstance(
            getattr(feature, "feature", None), datasets.Image
        ):
            ds = ds.cast_column(name, type(feature)(datasets.Image(decode=False)))
    n = len(ds) if limit is None else min(limit, len(ds))
    for i in range(n):
        yield i + 1, ds[i]


def _strip_image_tokens(text: str) -> str:
    token = _CONVERSATION["image_token"]
    return "\n".join(line for line in text.replace(token, "\n").split("\n") if line.strip()).strip()


def _present(d: dict[str, Any], names: list[str], default: Any = None) -> Any:
    """The value of the first of `names` that `d` has (even when null), else `default`."""
    return next((d[n] for n in names if n in d), default)


def _speaker(turn: Any, who: str) -> bool:
    return isinstance(turn, dict) and _present(turn, _CONVERSATION["speaker"]) in _CONVERSATION[who]


def _read_sharegpt(path: Path, limit: int | None) -> Iterator[tuple[int, Any]]:
    try:
        items = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"sharegpt source {path} is not a UTF-8 JSON file: {exc}") from exc
    except (RecursionError, ValueError) as exc:
        raise BadInput(f"sharegpt source {path}: {_json_limit(exc)}") from exc
    if not isinstance(items, list):
        raise BadInput(f"sharegpt source {path} must be a JSON list of conversations")
    turns_keys, text = _CONVERSATION["turns"], _CONVERSATION["text"]
    for i, item in enumerate(items[:limit] if limit is not None else items, start=1):
        if not isinstance(item, dict):
            yield i, RowError("conversation is not a JSON object")
            continue
        turns = next((item[k] for k in turns_keys if item.get(k)), [])
        human = next((k for k, t in enumerate(turns) if _speaker(t, "human")), None)
        if human is None:
            yield i, RowError("conversation has no human turn")
            continue
        answer = next((t for t in turns[human + 1 :] if _speaker(t, "assistant")), None)
        row = {k: v for k, v in item.items() if k not in turns_keys}
        row["instruction"] = _strip_image_tokens(str(_present(turns[human], text, "") or ""))
        row["reference"] = None if answer is None else _present(answer, text)
        yield i, row


READERS = {"jsonl": _read_jsonl, "parquet": _read_parquet, "hf": _read_hf, "sharegpt": _read_sharegpt}
