"""One seed row, normalised and validated: `{id, images, instruction, reference, task_type, source}`.

The accepted forms (field aliases, text values, image references) come from the contract
(`seed_row_forms()`, declared in orchestrator/recipe/seed-row-forms.ts and listed in docs/recipe.md):
images may be paths (kept inside the allowed roots) or embedded bytes (written out,
content-addressed). Every way a row can be unusable raises RowError with the reason the
rejected-rows file shows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract import seed_row_aliases, seed_row_field
from ..errors import BadInput
from .image_limits import ProcessorLimits, image_problem
from .images import decode_image, image_bytes, image_format, load_image
from .jsonl_io import atomic_write_bytes

DEFAULT_TASK_TYPE = seed_row_field("task_type")["default"]
INSTRUCTION = seed_row_aliases("instruction")
REFERENCE = seed_row_aliases("reference")
IMAGES = seed_row_aliases("images")
ID = seed_row_aliases("id")
TASK_TYPE = seed_row_aliases("task_type")


@dataclass
class Limits:
    """The recipe's per-row limits (`data.max_instruction_chars`, `max_image_bytes`, `max_image_side`),
    and what the model's image processor accepts (checked when known: `prepare` passes it)."""

    max_instruction_chars: int
    max_image_bytes: int
    max_image_side: int
    processor: ProcessorLimits | None = None

    @classmethod
    def from_recipe(cls, data_cfg: dict[str, Any], processor: ProcessorLimits | None = None) -> Limits:
        return cls(
            max_instruction_chars=int(data_cfg["max_instruction_chars"]),
            max_image_bytes=int(data_cfg["max_image_bytes"]),
            max_image_side=int(data_cfg["max_image_side"]),
            processor=processor,
        )


class RowError(Exception):
    """A row-level problem: the row is rejected with this reason."""


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


class ImageStore:
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
            raise RowError(
                f"image path {p} is outside the allowed roots ({shown}); add its folder to the recipe's allowed_roots"
            )

    def resolve(self, ref: Any, root: Path) -> str:
        lim = self.limits
        try:
            data = image_bytes(ref)
            if data is not None:
                self._fits(
                    decode_image(data, max_bytes=lim.max_image_bytes, max_side=lim.max_image_side), "embedded image"
                )
                return self._store(data)
            path = ref.get("path") if isinstance(ref, dict) else ref
            if not isinstance(path, str) or not path.strip():
                raise RowError("image reference is neither a path nor embedded bytes")
            p = Path(path).expanduser()
            p = p if p.is_absolute() else root / p
            self._check_inside(p)
            self._fits(load_image(p, max_bytes=lim.max_image_bytes, max_side=lim.max_image_side), str(p))
            return str(p.resolve())
        except BadInput as exc:
            raise RowError(f"image unusable: {exc}") from exc

    def _fits(self, image, what: str) -> None:
        """The model's processor must take the image as it is (aspect ratio, size after its resize)."""
        problem = image_problem(image, self.limits.processor) if self.limits.processor else None
        if problem:
            raise BadInput(f"{what}: {problem}")

    def _store(self, data: bytes) -> str:
        # Content-addressed: a rerun of prepare writes the same file names.
        name = f"{hashlib.sha256(data).hexdigest()[:32]}.{image_format(data)}"
        target = self.out_dir / name
        if not target.exists():
            atomic_write_bytes(target, data)
        return str(target)


def normalise_row(
    raw: dict[str, Any], *, source: str, index: int, root: Path, store: ImageStore, limits: Limits
) -> dict[str, Any]:
    """A seed row `{id, images, instruction, reference, task_type, source}`, or RowError."""
    instruction = _text(_first(raw, *INSTRUCTION), "instruction")
    if len(instruction) > limits.max_instruction_chars:
        raise RowError(
            f"instruction is {len(instruction)} characters, longer than max_instruction_chars {limits.max_instruction_chars}"
        )
    reference = _text(_first(raw, *REFERENCE), "reference")
    refs = _first(raw, *IMAGES)
    if refs is None:
        raise RowError("image is missing")
    if not isinstance(refs, list):
        refs = [refs]
    if not refs:
        raise RowError("image list is empty")
    images = [store.resolve(r, root) for r in refs]
    task_type = _first(raw, *TASK_TYPE)
    task_type = _text(task_type, "task_type") if task_type is not None else DEFAULT_TASK_TYPE
    return {
        "id": row_id(raw, source, index),
        "images": images,
        "instruction": instruction,
        "reference": reference,
        "task_type": task_type,
        "source": source,
    }


def row_id(raw: dict[str, Any], source: str, index: int) -> str:
    rid = _first(raw, *ID)
    if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip():
        return str(rid).strip()
    return f"{source}-{index}"
