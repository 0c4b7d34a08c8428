"""Contrastive perturbations: weighted choice, params in range, deterministic, image really changed."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from ipa_worker.data.images import image_digest
from ipa_worker.errors import BadInput
from ipa_worker.method.perturbations import RANGE_FIELDS, apply_perturbation, draw_perturbation
from PIL import Image, ImageDraw

ALL = [
    {"kind": "gaussian_noise", "weight": 1, "std": [0.05, 0.2]},
    {"kind": "blur", "weight": 1, "radius": [1, 3]},
    {"kind": "downscale", "weight": 1, "factor": [0.2, 0.5]},
    {"kind": "crop", "weight": 1, "fraction": [0.5, 0.8]},
    {"kind": "color_jitter", "weight": 1, "strength": [0.2, 0.6]},
]


def _image() -> Image.Image:
    img = Image.new("RGB", (56, 56), (240, 240, 240))
    d = ImageDraw.Draw(img)
    d.rectangle((5, 5, 25, 40), fill=(200, 30, 30))
    d.ellipse((30, 10, 50, 50), fill=(30, 60, 200))
    return img


def test_draw_respects_ranges_and_weights():
    rng = random.Random(0)
    draws = [draw_perturbation(ALL, rng) for _ in range(500)]
    assert set(Counter(d["kind"] for d in draws)) == set(RANGE_FIELDS)
    for d in draws:
        spec = next(p for p in ALL if p["kind"] == d["kind"])
        field = RANGE_FIELDS[d["kind"]]
        assert spec[field][0] <= d[field] <= spec[field][1]
    heavy = [dict(ALL[0], weight=1000), dict(ALL[1], weight=0.001)]
    kinds = Counter(draw_perturbation(heavy, rng)["kind"] for _ in range(200))
    assert kinds["gaussian_noise"] >= 195


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s["kind"])
def test_each_kind_changes_the_image_deterministically(spec):
    img = _image()
    params = draw_perturbation([spec], random.Random(1))
    out1 = apply_perturbation(img, params, random.Random(7))
    out2 = apply_perturbation(img, params, random.Random(7))
    assert out1.size == img.size and out1.mode == "RGB"
    assert image_digest(out1) == image_digest(out2)
    assert image_digest(out1) != image_digest(img)
    assert np.abs(np.asarray(out1, dtype=int) - np.asarray(img, dtype=int)).mean() > 0.5


def test_noise_depends_on_the_rng_and_unknown_kinds_fail():
    img = _image()
    p = {"kind": "gaussian_noise", "std": 0.1}
    assert image_digest(apply_perturbation(img, p, random.Random(1))) != image_digest(
        apply_perturbation(img, p, random.Random(2))
    )
    with pytest.raises(BadInput, match="unknown perturbation"):
        draw_perturbation([{"kind": "rotate", "angle": [0, 10]}], random.Random(0))
    with pytest.raises(BadInput):
        draw_perturbation([], random.Random(0))
