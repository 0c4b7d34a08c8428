"""Build a directory all at once: into a temp sibling, then rename, under a file lock.

Used for artifacts that many jobs may ask for at the same time (the tiny model, the synthetic
data set): a crashed or concurrent build never leaves a half-written folder at the target.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .jsonl_io import atomic_write_bytes, make_dirs, make_temp_dir

MARKER = ".ipa-complete.json"


def read_marker(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(out_dir) / MARKER
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_dir_atomically(
    out_dir: str | os.PathLike,
    build: Callable[[Path], None],
    is_complete: Callable[[Path], bool],
    marker: dict[str, Any],
) -> Path:
    """Run `build(tmp_dir)` unless `is_complete(out_dir)`; publish the result by rename.

    The marker is written last inside the temp folder, so a folder carrying it is whole.
    An incomplete folder already at `out_dir` (e.g. from an older, non-atomic writer) is replaced.
    """
    target = Path(out_dir).resolve()
    if is_complete(target):
        return target
    make_dirs(target.parent)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if is_complete(target):  # another process finished while we waited
            return target
        tmp = make_temp_dir(target.parent, f".{target.name}.build-")
        try:
            build(tmp)
            atomic_write_bytes(tmp / MARKER, (json.dumps(marker, sort_keys=True) + "\n").encode("utf-8"))
            if target.exists():
                trash = make_temp_dir(target.parent, f".{target.name}.old-")
                os.replace(target, trash / "old")
                os.replace(tmp, target)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
