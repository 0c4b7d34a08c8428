"""Loading images safely: every way a file can be unusable becomes a BadInput with a precise reason.

Seed rows come from user data: a missing, empty, truncated, corrupt, non-image, oversized or
decompression-bomb image must reject that row, never crash the job or exhaust memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import warnings
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..contract import recipe_defaults
from ..errors import BadInput
from .image_limits import size_problem

# Limits when a caller gives none: the recipe's defaults (data.max_image_bytes, max_image_side).
_DATA = recipe_defaults()["data"]

# PIL's own guard (default ~89 Mpx) warns at MAX and raises at 2*MAX. We check the side limit
# ourselves before decoding; this global cap (the default side squared, 8192^2) stops anything
# larger even if a caller passes a huge max_side.
Image.MAX_IMAGE_PIXELS = _DATA["max_image_side"] ** 2


def _open(fh: io.BufferedIOBase, *, max_side: int, what: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fh)
            w, h = img.size
            if w <= 0 or h <= 0:
                raise BadInput(f"{what}: image has no pixels ({w}x{h})")
            if max(w, h) > max_side:
                raise BadInput(
                    f"{what}: image is {w}x{h}, larger than max_image_side {max_side} (possible decompression bomb)"
                )
            img.load()  # decode now, so truncation surfaces here and not in the model
            _check_frames_and_mode(img, what)
            try:
                return img.convert("RGB")
            except ValueError as exc:
                raise BadInput(f"{what}: pixel mode {img.mode} has no RGB form ({exc})") from exc
    except BadInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInput(f"{what}: decompression bomb refused ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise BadInput(f"{what}: not an image (format not recognised)") from exc
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise BadInput(f"{what}: truncated image data ({exc})") from exc
        raise BadInput(f"{what}: corrupt image data ({exc})") from exc
    except (SyntaxError, ValueError, EOFError, TypeError, IndexError, MemoryError) as exc:
        # PIL plugins raise these for malformed headers and chunks; convert() for a mode with no RGB form
        raise BadInput(f"{what}: corrupt image data ({type(exc).__name__}: {exc})") from exc


# High bit depth: converting to the 8-bit RGB the model sees clips the values (mostly white).
_DEEP_MODES = {
    "I": "32-bit integer",
    "F": "32-bit float",
    "I;16": "16-bit",
    "I;16L": "16-bit",
    "I;16B": "16-bit",
    "I;16N": "16-bit",
}


def _check_frames_and_mode(img: Image.Image, what: str) -> None:
    """One still picture the model can see: no animation or multi-page file, no pixel mode lost in 8-bit RGB."""
    frames = int(getattr(img, "n_frames", 1) or 1)
    # MPO (phone cameras) keeps previews or depth maps after the picture: its first frame is the photo.
    if frames > 1 and img.format != "MPO":
        raise BadInput(
            f"{what}: image has {frames} frames (an animation or a multi-page file); use a single still image"
        )
    if img.mode in _DEEP_MODES:
        raise BadInput(
            f"{what}: pixel mode {img.mode} ({_DEEP_MODES[img.mode]} per pixel) would be clipped in the 8-bit RGB the model sees; save it as 8-bit RGB or greyscale"
        )


def load_image(
    path: str | os.PathLike, *, max_bytes: int = _DATA["max_image_bytes"], max_side: int = _DATA["max_image_side"]
) -> Image.Image:
    """Open, check and decode an image file into an RGB image, or raise BadInput saying why not."""
    p = os.fspath(path)
    try:
        size = os.stat(p).st_size
    except FileNotFoundError as exc:
        raise BadInput(f"{p}: image file not found") from exc
    except OSError as exc:
        raise BadInput(f"{p}: image file not readable ({exc.strerror or exc})") from exc
    if not os.path.isfile(p):
        raise BadInput(f"{p}: not a regular file")
    if size == 0:
        raise BadInput(f"{p}: image file is empty")
    if size > max_bytes:
        raise BadInput(f"{p}: image file is {size} bytes, larger than max_image_bytes {max_bytes}")
    try:
        with open(p, "rb") as fh:
            return _open(fh, max_side=max_side, what=p)
    except PermissionError as exc:
        raise BadInput(f"{p}: image file not readable (permission denied)") from exc


def header_problem(path: str | os.PathLike, limits) -> str | None:
    """Why an image file cannot be shown to the model, from its header alone (no decoding): for
    checks over many files that `prepare` already decoded once (training's pair images)."""
    p = os.fspath(path)
    try:
        with Image.open(p) as img:
            _check_frames_and_mode(img, p)
            w, h = img.size
    except BadInput as exc:
        return str(exc)
    except (OSError, ValueError, SyntaxError) as exc:
        return f"{p}: unreadable image ({type(exc).__name__}: {exc})"
    problem = size_problem(w, h, limits)
    return f"{p}: {problem}" if problem else None


def image_bytes(value: Any) -> bytes | None:
    """The raw bytes of an embedded image, or None when `value` names a file instead.

    Accepts raw bytes, a HF datasets image dict `{"bytes": ..., "path": ...}` with bytes set,
    and base64 text (optionally a `data:image/...;base64,` URL).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        data = value.get("bytes")
        return image_bytes(data) if data is not None else None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("data:"):
            header, _, payload = text.partition(",")
            if ";base64" not in header:
                raise BadInput("data URL image is not base64-encoded")
            try:
                return base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise BadInput(f"embedded image is not valid base64 ({exc})") from exc
        # Bare base64 is told from a path by what it decodes to: an image signature.
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
        return data if data.startswith(_SIGNATURES) else None
    return None


_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")


def decode_image(
    data: bytes,
    *,
    max_bytes: int = _DATA["max_image_bytes"],
    max_side: int = _DATA["max_image_side"],
    what: str = "embedded image",
) -> Image.Image:
    """Decode embedded image bytes (same checks as `load_image`)."""
    if not data:
        raise BadInput(f"{what}: image data is empty")
    if len(data) > max_bytes:
        raise BadInput(f"{what}: image data is {len(data)} bytes, larger than max_image_bytes {max_bytes}")
    return _open(io.BytesIO(data), max_side=max_side, what=what)


def image_format(data: bytes) -> str:
    """File extension for embedded bytes, from the decoded format (png when unknown)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "png").lower()
    except (OSError, ValueError, SyntaxError):
        fmt = "png"
    return {"jpeg": "jpg", "mpo": "jpg"}.get(fmt, fmt)


def image_digest(images: list[Image.Image] | Image.Image) -> str:
    """sha256 of the pixels (mode, size, bytes) actually fed to a model: one digest for the list."""
    h = hashlib.sha256()
    for img in images if isinstance(images, list) else [images]:
        h.update(f"{img.mode}:{img.size[0]}x{img.size[1]}:".encode())
        h.update(img.tobytes())
    return h.hexdigest()
