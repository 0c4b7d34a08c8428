"""Seed loading for `prepare`: read sources, normalise rows, validate each, mix by weight.

Formats: jsonl, parquet (file or folder), hf (`datasets.save_to_disk` folder), sharegpt/LLaVA
JSON. A bad row is rejected with `{source, line, id, reason}` and the rest goes on; only "no
usable seed at all" fails the job (in the prepare stage).

Mixing: every valid row is used unless `data.max_seeds` caps the total; under a cap each source
gets a share proportional to its weight (a source short of its share gives all it has and the
others fill the gap), drawn with a seeded RNG. The mixed list is shuffled with the same RNG so
shards see every source.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import BadInput
from .images import decode_image, image_bytes, image_format, load_image
from .jsonl_io import atomic_write_bytes

DEFAULT_TASK_TYPE = "general"


@dataclass
class Source:
    """One seed source as in the recipe (`data.sources[i]`), plus a name for ids and reports."""

    path: str
    format: str = "jsonl"
    weight: float = 1.0
    max_rows: int | None = None
    image_root: str | None = None
    name: str = ""

    @classmethod
    def from_recipe(cls, d: dict[str, Any], name: str = "") -> "Source":
        return cls(
            path=str(d["path"]),
            format=d.get("format", "jsonl"),
            weight=float(d.get("weight", 1.0)),
            max_rows=d.get("max_rows"),
            image_root=d.get("image_root"),
            name=name or d.get("name") or "",
        )


@dataclass
class Limits:
    max_instruction_chars: int = 4000
    max_image_bytes: int = 32 * 1024 * 1024
    max_image_side: int = 8192

    @classmethod
    def from_recipe(cls, data_cfg: dict[str, Any]) -> "Limits":
        return cls(
            max_instruction_chars=int(data_cfg.get("max_instruction_chars", 4000)),
            max_image_bytes=int(data_cfg.get("max_image_bytes", 32 * 1024 * 1024)),
            max_image_side=int(data_cfg.get("max_image_side", 8192)),
        )


@dataclass
class LoadResult:
    seeds: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)


class RowError(Exception):
    """A row-level problem: the row is rejected with this reason."""


# ---------------------------------------------------------------- raw readers: (line, raw dict | RowError)


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
            yield line_no, row if isinstance(row, dict) else RowError("row is not a JSON object")


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
        for batch in pf.iter_batches(batch_size=256):
            for row in batch.to_pylist():
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
        elif isinstance(feature, (datasets.Sequence, datasets.List)) and isinstance(getattr(feature, "feature", None), datasets.Image):
            ds = ds.cast_column(name, type(feature)(datasets.Image(decode=False)))
    n = len(ds) if limit is None else min(limit, len(ds))
    for i in range(n):
        yield i + 1, ds[i]


def _strip_image_tokens(text: str) -> str:
    return "\n".join(line for line in text.replace("<image>", "\n").split("\n") if line.strip()).strip()


def _read_sharegpt(path: Path, limit: int | None) -> Iterator[tuple[int, Any]]:
    try:
        items = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"sharegpt source {path} is not a UTF-8 JSON file: {exc}") from exc
    if not isinstance(items, list):
        raise BadInput(f"sharegpt source {path} must be a JSON list of conversations")
    for i, item in enumerate(items[:limit] if limit is not None else items, start=1):
        if not isinstance(item, dict):
            yield i, RowError("conversation is not a JSON object")
            continue
        turns = item.get("conversations") or item.get("messages") or []
        human = next((k for k, t in enumerate(turns) if isinstance(t, dict) and t.get("from", t.get("role")) in ("human", "user")), None)
        if human is None:
            yield i, RowError("conversation has no human turn")
            continue
        answer = next(
            (t for t in turns[human + 1 :] if isinstance(t, dict) and t.get("from", t.get("role")) in ("gpt", "assistant")), None
        )
        row = {k: v for k, v in item.items() if k not in ("conversations", "messages")}
        row["instruction"] = _strip_image_tokens(str(turns[human].get("value", turns[human].get("content", "")) or ""))
        row["reference"] = None if answer is None else answer.get("value", answer.get("content"))
        yield i, row


READERS = {"jsonl": _read_jsonl, "parquet": _read_parquet, "hf": _read_hf, "sharegpt": _read_sharegpt}


# ---------------------------------------------------------------- normalisation and validation


def _text(value: Any, what: str) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RowError(f"{what} is not valid UTF-8 (byte {exc.start})") from exc
    if isinstance(value, list):  # e.g. VQA answer lists: the first non-empty one
        value = next((v for v in value if isinstance(v, (str, int, float)) and str(v).strip()), None)
    if isinstance(value, bool) or value is None:
        raise RowError(f"{what} is missing")
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise RowError(f"{what} is not text ({type(value).__name__})")
    try:
        value.encode("utf-8")  # lone surrogates from \ud800 escapes cannot be encoded
    except UnicodeEncodeError as exc:
        raise RowError(f"{what} is not valid UTF-8 (unpaired surrogate)") from exc
    value = value.strip()
    if not value:
        raise RowError(f"{what} is empty")
    return value


def _first(row: dict[str, Any], *names: str) -> Any:
    for n in names:
        if row.get(n) is not None:
            return row[n]
    return None


class _ImageStore:
    """Resolves a row's image references to validated absolute paths (embedded bytes are written out)."""

    def __init__(self, out_dir: Path, limits: Limits, roots: list[Path] | None = None):
        self.out_dir = out_dir
        self.limits = limits
        # Image paths must stay inside these folders (the recipe's rule for every path it names).
        self.roots = [r.resolve() for r in (roots or [])]

    def _check_inside(self, p: Path) -> None:
        real = p.resolve()
        if self.roots and not any(real == r or r in real.parents for r in self.roots):
            shown = ", ".join(str(r) for r in self.roots)
            raise RowError(f"image path {p} is outside the allowed roots ({shown}); add its folder to the recipe's allowed_roots")

    def resolve(self, ref: Any, root: Path) -> str:
        lim = self.limits
        try:
            data = image_bytes(ref)
            if data is not None:
                decode_image(data, max_bytes=lim.max_image_bytes, max_side=lim.max_image_side)
                return self._store(data)
            path = ref.get("path") if isinstance(ref, dict) else ref
            if not isinstance(path, str) or not path.strip():
                raise RowError("image reference is neither a path nor embedded bytes")
            p = Path(path).expanduser()
            p = p if p.is_absolute() else root / p
            self._check_inside(p)
            load_image(p, max_bytes=lim.max_image_bytes, max_side=lim.max_image_side)
            return str(p.resolve())
        except BadInput as exc:
            raise RowError(f"image unusable: {exc}") from exc

    def _store(self, data: bytes) -> str:
        import hashlib

        # Content-addressed: a rerun of prepare writes the same file names.
        name = f"{hashlib.sha256(data).hexdigest()[:32]}.{image_format(data)}"
        target = self.out_dir / name
        if not target.exists():
            atomic_write_bytes(target, data)
        return str(target)


def normalise_row(raw: dict[str, Any], *, source: Source, index: int, root: Path, store: _ImageStore, limits: Limits) -> dict[str, Any]:
    """A seed row `{id, images, instruction, reference, task_type, source}`, or RowError."""
    instruction = _text(_first(raw, "instruction", "question", "prompt"), "instruction")
    if len(instruction) > limits.max_instruction_chars:
        raise RowError(f"instruction is {len(instruction)} characters, longer than max_instruction_chars {limits.max_instruction_chars}")
    reference = _text(_first(raw, "reference", "answer", "response"), "reference")
    refs = _first(raw, "images", "image")
    if refs is None:
        raise RowError("image is missing")
    if not isinstance(refs, list):
        refs = [refs]
    if not refs:
        raise RowError("image list is empty")
    images = [store.resolve(r, root) for r in refs]
    task_type = raw.get("task_type")
    task_type = _text(task_type, "task_type") if task_type is not None else DEFAULT_TASK_TYPE
    return {
        "id": _row_id(raw, source, index),
        "images": images,
        "instruction": instruction,
        "reference": reference,
        "task_type": task_type,
        "source": source.name,
    }


def _row_id(raw: dict[str, Any], source: Source, index: int) -> str:
    rid = raw.get("id")
    if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip():
        return str(rid).strip()
    return f"{source.name}-{index}"


def _source_names(sources: list[Source]) -> None:
    """Unique names (file stems) for sources without one."""
    seen: dict[str, int] = {}
    for s in sources:
        base = s.name or Path(s.path).name.split(".")[0] or "source"
        seen[base] = seen.get(base, 0) + 1
        s.name = base if seen[base] == 1 else f"{base}-{seen[base]}"


def load_source(source: Source, *, images_dir: Path, limits: Limits, allowed_roots: list[str] | tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """Valid seed rows and rejected rows of one source (BadInput only when the source itself is unreadable)."""
    path = Path(source.path)
    if source.format not in READERS:
        raise BadInput(f"unknown source format {source.format!r} for {path}")
    if not path.exists():
        raise BadInput(f"data source not found: {path}")
    root = Path(source.image_root) if source.image_root else (path if path.is_dir() else path.parent)
    store = _ImageStore(images_dir, limits, roots=[root, images_dir, *(Path(r) for r in allowed_roots)])
    seeds: list[dict] = []
    rejected: list[dict] = []
    ids: set[str] = set()
    for line, raw in READERS[source.format](path, source.max_rows):
        rid = _row_id(raw, source, line) if isinstance(raw, dict) else f"{source.name}-{line}"
        try:
            if isinstance(raw, RowError):
                raise raw
            row = normalise_row(raw, source=source, index=line, root=root, store=store, limits=limits)
            if row["id"] in ids:
                raise RowError(f"duplicate id {row['id']!r}")
        except RowError as exc:
            rejected.append({"source": source.name, "line": line, "id": rid, "reason": str(exc)})
            continue
        ids.add(row["id"])
        row["_line"] = line  # for cross-source duplicate reports; dropped before output
        seeds.append(row)
    return seeds, rejected


def _quotas(available: list[int], weights: list[float], total: int) -> list[int]:
    """Largest-remainder shares of `total` by weight, capped by availability, the rest redistributed."""
    quotas = [0] * len(available)
    open_ = [i for i, a in enumerate(available) if a > 0]
    left = min(total, sum(available))
    while left > 0 and open_:
        wsum = sum(weights[i] for i in open_)
        exact = {i: left * weights[i] / wsum for i in open_}
        give = {i: min(int(exact[i]), available[i] - quotas[i]) for i in open_}
        rest = left - sum(give.values())
        for i in sorted(open_, key=lambda i: (-(exact[i] - int(exact[i])), i)):
            if rest <= 0:
                break
            if give[i] < available[i] - quotas[i]:
                give[i] += 1
                rest -= 1
        for i in open_:
            quotas[i] += give[i]
        left = min(total, sum(available)) - sum(quotas)
        open_ = [i for i in open_ if quotas[i] < available[i]]
    return quotas


def mix(per_source: list[list[dict]], weights: list[float], max_seeds: int | None, seed: int) -> list[dict]:
    rng = random.Random(seed)
    available = [len(rows) for rows in per_source]
    total = sum(available) if max_seeds is None else min(max_seeds, sum(available))
    picked: list[dict] = []
    for rows, q in zip(per_source, _quotas(available, weights, total)):
        keep = sorted(rng.sample(range(len(rows)), q))
        picked.extend(rows[i] for i in keep)
    rng.shuffle(picked)
    return picked


def load_seeds(
    sources: list[dict[str, Any]] | list[Source],
    *,
    images_dir: str | os.PathLike,
    data_cfg: dict[str, Any] | None = None,
    seed: int = 0,
    allowed_roots: list[str] | tuple[str, ...] = (),
) -> LoadResult:
    """Load, validate and mix all sources; ids stay unique across sources (later duplicates are rejected)."""
    data_cfg = data_cfg or {}
    limits = Limits.from_recipe(data_cfg)
    srcs = [s if isinstance(s, Source) else Source.from_recipe(s) for s in sources]
    _source_names(srcs)
    result = LoadResult()
    per_source: list[list[dict]] = []
    seen: set[str] = set()
    for s in srcs:
        rows, rejected = load_source(s, images_dir=Path(images_dir), limits=limits, allowed_roots=allowed_roots)
        unique = []
        for r in rows:
            line = r.pop("_line")
            if r["id"] in seen:
                rejected.append({"source": s.name, "line": line, "id": r["id"], "reason": f"duplicate id {r['id']!r} (another source has it)"})
                continue
            seen.add(r["id"])
            unique.append(r)
        per_source.append(unique)
        result.rejected.extend(rejected)
        result.per_source[s.name] = {"valid": len(unique), "rejected": len(rejected)}
    result.seeds = mix(per_source, [s.weight for s in srcs], data_cfg.get("max_seeds"), seed)
    for s, rows in zip(srcs, per_source):
        result.per_source[s.name]["used"] = sum(1 for r in result.seeds if r["source"] == s.name)
    return result
