"""Atomic, checksummed file output: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


DIR_MODE = 0o750


def make_dirs(path: str | os.PathLike) -> None:
    """mkdir -p with an explicit mode for every folder created: run directories are never
    world-writable, whatever the umask (`Path.mkdir(parents=True)` gives parents the umask's mode)."""
    p = Path(path)
    missing = []
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> str:
    """Write `data` to `path` atomically; returns its sha256 hex digest."""
    target = Path(path)
    make_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return hashlib.sha256(data).hexdigest()


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Write rows as JSON lines atomically; returns the output record `{path, rows, sha256}`."""
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    digest = atomic_write_bytes(path, data)
    return {"path": str(path), "rows": len(lines), "sha256": digest}


def atomic_write_json(path: str | os.PathLike, obj: Any) -> dict[str, Any]:
    data = (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    digest = atomic_write_bytes(path, data)
    return {"path": str(path), "rows": 1, "sha256": digest}


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    with open(path, "r", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
