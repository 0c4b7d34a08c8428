"""Stable seeds derived from several parts (run seed, seed id, sample index, ...).

Python's hash() is salted per process; these seeds must be the same in every worker and on
every retry, so they come from sha256 instead.
"""

from __future__ import annotations

import hashlib
from typing import Any


def stable_seed(*parts: Any, bits: int = 63) -> int:
    """A non-negative integer (< 2**bits) that depends only on the parts' reprs."""
    text = "\x1f".join(repr(p) for p in parts)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << bits) - 1)
