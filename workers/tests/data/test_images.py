"""Image loading: each kind of unusable file is refused with a reason that names the problem."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from ipa_worker.data.images import decode_image, image_bytes, image_digest, image_format, load_image
from ipa_worker.errors import BadInput
from PIL import Image


def _png(size=(20, 10), colour="red", mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb's header, no pixel data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _reason(path, **kw) -> str:
    with pytest.raises(BadInput) as exc:
        load_image(path, **kw)
    return str(exc.value)


def test_loads_rgb(tmp_path):
    p = tmp_path / "ok.png"
    p.write_bytes(_png(mode="RGBA", colour=(0, 0, 255, 128)))
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (20, 10)


def test_precise_reasons(tmp_path):
    assert "not found" in _reason(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in _reason(tmp_path / "empty.png")
    (tmp_path / "notes.txt").write_text("hello, I am not a picture\n" * 10)
    assert "not an image" in _reason(tmp_path / "notes.txt")

    noisy = Image.effect_noise((64, 64), 80).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, format="JPEG", quality=95)
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert "truncated" in _reason(tmp_path / "cut.jpg")

    good = _png((32, 32))
    broken = good[:33] + bytes(b ^ 0x5A for b in good[33:])  # header intact, chunks scrambled
    (tmp_path / "corrupt.png").write_bytes(broken)
    assert "corrupt" in _reason(tmp_path / "corrupt.png")

    (tmp_path / "big.png").write_bytes(good)
    assert "larger than max_image_bytes 10" in _reason(tmp_path / "big.png", max_bytes=10)
    assert "larger than max_image_side 16" in _reason(tmp_path / "big.png", max_side=16)
    (tmp_path / "dir.png").mkdir()
    assert "not a regular file" in _reason(tmp_path / "dir.png")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(60000, 60000))
    assert "decompression bomb" in _reason(bomb)  # side check
    assert "decompression bomb" in _reason(bomb, max_side=10**6)  # PIL's pixel guard


def test_embedded_forms():
    data = _png()
    b64 = base64.b64encode(data).decode()
    assert image_bytes(data) == data
    assert image_bytes({"bytes": data, "path": None}) == data
    assert image_bytes(b64) == data
    assert image_bytes("data:image/png;base64," + b64) == data
    assert image_bytes("images/cat.png") is None and image_bytes({"bytes": None, "path": "a.png"}) is None
    with pytest.raises(BadInput, match="base64"):
        image_bytes("data:image/png;base64,!!!notbase64!!!")
    assert decode_image(data).size == (20, 10)
    assert image_format(data) == "png"
    with pytest.raises(BadInput, match="empty"):
        decode_image(b"")
    with pytest.raises(BadInput, match="not an image"):
        decode_image(b"plain text, not pixels")


def test_digest_tracks_pixels():
    a, b = Image.new("RGB", (8, 8), "red"), Image.new("RGB", (8, 8), "red")
    assert image_digest(a) == image_digest(b) == image_digest([b])
    b.putpixel((0, 0), (0, 0, 0))
    assert image_digest(a) != image_digest(b)
