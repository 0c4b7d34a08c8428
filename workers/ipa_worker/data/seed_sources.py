"""Seed loading for `prepare`: read each source (seed_readers), validate its rows (seed_rows),
mix the sources by weight.

A bad row is rejected with `{source, line, id, reason}` and the rest goes on; only "no usable
seed at all" fails the job (in the prepare stage).

Mixing: every valid row is used unless `data.max_seeds` caps the total; under a cap each source
gets a share proportional to its weight (a source short of its share gives all it has and the
others fill the gap), drawn with a seeded RNG. The mixed list is shuffled with the same RNG so
shards see every source.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract import recipe_defaults, schema_defaults
from ..errors import BadInput
from .image_limits import ProcessorLimits
from .seed_readers import READERS
from .seed_rows import ImageStore, Limits, RowError, normalise_row, row_id


@dataclass
class Source:
    """One seed source as in the recipe (`data.sources[i]`), plus a name for ids and reports."""

    path: str
    format: str
    weight: float
    max_rows: int | None = None
    image_root: str | None = None
    name: str = ""

    @classmethod
    def from_recipe(cls, d: dict[str, Any], name: str = "") -> Source:
        return cls(
            path=str(d["path"]),
            format=d["format"],
            weight=float(d["weight"]),
            max_rows=d.get("max_rows"),
            image_root=d.get("image_root"),
            name=name,
        )


@dataclass
class LoadResult:
    seeds: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)


def _source_names(sources: list[Source]) -> None:
    """Unique names (file stems) for sources without one."""
    seen: dict[str, int] = {}
    for s in sources:
        base = s.name or Path(s.path).name.split(".")[0] or "source"
        seen[base] = seen.get(base, 0) + 1
        s.name = base if seen[base] == 1 else f"{base}-{seen[base]}"


def load_source(
    source: Source, *, images_dir: Path, limits: Limits, allowed_roots: list[str] | tuple[str, ...] = ()
) -> tuple[list[dict], list[dict]]:
    """Valid seed rows and rejected rows of one source (BadInput only when the source itself is unreadable)."""
    path = Path(source.path)
    if source.format not in READERS:
        raise BadInput(f"unknown source format {source.format!r} for {path}")
    if not path.exists():
        raise BadInput(f"data source not found: {path}")
    root = Path(source.image_root) if source.image_root else (path if path.is_dir() else path.parent)
    store = ImageStore(images_dir, limits, roots=[root, images_dir, *(Path(r) for r in allowed_roots)])
    seeds: list[dict] = []
    rejected: list[dict] = []
    ids: set[str] = set()
    for line, raw in READERS[source.format](path, source.max_rows):
        rid = row_id(raw, source.name, line) if isinstance(raw, dict) else f"{source.name}-{line}"
        try:
            if isinstance(raw, RowError):
                raise raw
            row = normalise_row(raw, source=source.name, index=line, root=root, store=store, limits=limits)
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
    processor: ProcessorLimits | None = None,
) -> LoadResult:
    """Load, validate and mix all sources; ids stay unique across sources (later duplicates are rejected).

    `sources` and `data_cfg` are shaped like the recipe's `data.sources` and `data`; a field they
    leave out takes the recipe schema's default (the contract's), so a caller outside a stage
    passes only what it sets. `processor`: what the model's image processor accepts; a row with an
    image it would refuse is rejected with the reason.
    """
    data_cfg = {**recipe_defaults()["data"], **(data_cfg or {})}
    limits = Limits.from_recipe(data_cfg, processor)
    srcs = [
        s if isinstance(s, Source) else Source.from_recipe({**schema_defaults("data", "sources", "[]"), **s})
        for s in sources
    ]
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
                rejected.append(
                    {
                        "source": s.name,
                        "line": line,
                        "id": r["id"],
                        "reason": f"duplicate id {r['id']!r} (another source has it)",
                    }
                )
                continue
            seen.add(r["id"])
            unique.append(r)
        per_source.append(unique)
        result.rejected.extend(rejected)
        result.per_source[s.name] = {"valid": len(unique), "rejected": len(rejected)}
    result.seeds = mix(per_source, [s.weight for s in srcs], data_cfg.get("max_seeds"), seed)
    for s in srcs:
        result.per_source[s.name]["used"] = sum(1 for r in result.seeds if r["source"] == s.name)
    return result
