"""LoRA adapter folders as an engine knows them: by content, not by path.

A retried train job republishes new weights at the same path, so an engine that keyed adapters
by path would keep serving the old ones; both backends name an adapter by the hash of its files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import BadInput
from ..seeding import stable_seed

_IDENTITIES: dict[tuple, tuple[str, int]] = {}


def adapter_identity(path: str) -> tuple[str, int]:
    """(name, positive int id) of an adapter folder, from its files' contents (cached by size and mtime)."""
    folder = Path(path)
    files = [folder / "adapter_config.json", *sorted(folder.glob("adapter_model.*"))]
    if not files[0].is_file():
        raise BadInput(f"adapter not found: {path} has no adapter_config.json")
    cache_key = (str(folder.resolve()), tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()))
    if cache_key not in _IDENTITIES:
        h = hashlib.sha256()
        for f in files:
            if f.is_file():
                h.update(f.name.encode() + b"\0" + f.read_bytes())
        digest = h.hexdigest()
        _IDENTITIES[cache_key] = (f"adapter-{digest[:16]}", stable_seed("lora", digest, bits=30) + 1)
    return _IDENTITIES[cache_key]


def adapter_rank(path: str) -> int:
    """The LoRA rank `r` an adapter folder was trained with."""
    cfg = Path(path) / "adapter_config.json"
    if not cfg.is_file():
        raise BadInput(f"adapter not found: {path} has no adapter_config.json")
    return int(json.loads(cfg.read_text()).get("r", 1))
