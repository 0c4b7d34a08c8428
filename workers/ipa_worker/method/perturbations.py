"""Contrastive image perturbations t(V) (IPA round 1): noise, blur, down-scaling, crop, colour jitter.

`draw_perturbation` picks a kind by weight and draws its strength from the recipe's [low, high]
range; `apply_perturbation` applies it, drawing any remaining randomness (noise pattern, crop
position, jitter factors) from the same rng, so one seeded rng reproduces the image exactly.
The kinds, their range fields and default ranges belong to the recipe schema (schema.ts).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from ..contract import recipe_schema
from ..errors import BadInput


def _range_fields() -> dict[str, str]:
    """kind -> the field holding its [low, high] range, from the recipe schema's perturbation
    variants (each is `{kind: <const>, weight, <range field>}`)."""
    entry = recipe_schema()["properties"]["sampling"]["properties"]["perturbations"]["items"]
    fields = {}
    for variant in entry["oneOf"]:
        props = variant["properties"]
        (field,) = set(props) - {"kind", "weight"}
        fields[props["kind"]["const"]] = field
    return fields


RANGE_FIELDS = _range_fields()


def draw_perturbation(perturbations: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    """A concrete perturbation `{"kind", <field>: value}` drawn from the recipe's list."""
    if not perturbations:
        raise BadInput("sampling.perturbations is empty: contrastive sampling needs at least one")
    for p in perturbations:
        if p.get("kind") not in RANGE_FIELDS:
            raise BadInput(f"unknown perturbation kind {p.get('kind')!r}; known: {sorted(RANGE_FIELDS)}")
    weights = [float(p["weight"]) for p in perturbations]
    spec = rng.choices(perturbations, weights=weights, k=1)[0]
    kind = spec["kind"]
    field = RANGE_FIELDS[kind]
    low, high = spec[field]
    return {"kind": kind, field: rng.uniform(float(low), float(high))}


def apply_perturbation(img: Image.Image, params: dict[str, Any], rng: random.Random) -> Image.Image:
    """The perturbed copy of `img` (RGB, same size as the input)."""
    img = img.convert("RGB")
    kind = params["kind"]
    w, h = img.size
    if kind == "gaussian_noise":
        noise_rng = np.random.default_rng(rng.getrandbits(64))
        arr = np.asarray(img, dtype=np.float32)
        arr = arr + noise_rng.normal(0.0, float(params["std"]) * 255.0, size=arr.shape)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "RGB")
    if kind == "blur":
        return img.filter(ImageFilter.GaussianBlur(radius=float(params["radius"])))
    if kind == "downscale":
        f = float(params["factor"])
        small = img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR)
        return small.resize((w, h), Image.Resampling.BILINEAR)
    if kind == "crop":
        f = float(params["fraction"])
        cw, ch = max(1, round(w * f)), max(1, round(h * f))
        x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
        # Scaled back up: the model sees the same image size, so only the content changes.
        return img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BILINEAR)
    if kind == "color_jitter":
        s = float(params["strength"])
        out = img
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            out = enhancer(out).enhance(max(0.0, 1.0 + rng.uniform(-s, s)))
        return out
    raise BadInput(f"unknown perturbation kind {kind!r}")
