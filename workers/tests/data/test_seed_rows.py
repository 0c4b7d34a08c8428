"""Every seed-row form the contract documents (docs/recipe.md, "Seed rows") is one `normalise_row` takes:
each field under each of its aliases, in their order of preference, each text form, each image form;
and the row without the field is rejected with its reason (or takes the documented default)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from ipa_worker.contract import schema_enum, seed_row_forms
from ipa_worker.data.seed_rows import ImageStore, Limits, RowError, normalise_row
from PIL import Image
from seed_files import png_bytes

FORMS = seed_row_forms()
FIELDS = {f["name"]: f for f in FORMS["fields"]}
LIMITS = Limits(max_instruction_chars=200, max_image_bytes=1_000_000, max_image_side=1024)
SOURCE, LINE = "seeds", 3

# A complete row under the fields' own names; the image is src/img/a.png.
ROW = {"instruction": "What colour?", "reference": "red", "images": "img/a.png", "id": "r1", "task_type": "colour"}
# What the row gives for each field.
EXPECTED = {"instruction": "What colour?", "reference": "red", "id": "r1", "task_type": "colour"}
# Why a row without a required field is rejected.
MISSING = {"instruction": "instruction is missing", "reference": "reference is missing", "images": "image is missing"}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    (tmp_path / "src" / "img").mkdir(parents=True)
    (tmp_path / "src" / "img" / "a.png").write_bytes(png_bytes("red"))
    return tmp_path / "src"


def normalise(raw: dict, src: Path) -> dict:
    out = src.parent / "images"
    store = ImageStore(out, LIMITS, roots=[src, out])
    return normalise_row(raw, source=SOURCE, index=LINE, root=src, store=store, limits=LIMITS)


def is_the_red_png(path: str) -> bool:
    with Image.open(path) as img:
        return img.size == (28, 28) and img.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_the_required_fields_and_their_reasons_are_the_documented_ones():
    assert {n for n, f in FIELDS.items() if f["required"]} == set(MISSING)
    assert set(FIELDS) == set(ROW)


@pytest.mark.parametrize(
    ("field", "alias"), [(f["name"], a) for f in FORMS["fields"] for a in f["aliases"]], ids=lambda v: v
)
def test_every_alias_of_every_field_is_read_and_the_row_without_the_field_is_rejected_or_defaulted(src, field, alias):
    row = {k: v for k, v in ROW.items() if k != field}
    got = normalise({**row, alias: ROW[field]}, src)
    if field == "images":
        assert len(got["images"]) == 1 and is_the_red_png(got["images"][0])
    else:
        assert got[field] == EXPECTED[field]

    if FIELDS[field]["required"]:
        with pytest.raises(RowError) as err:
            normalise(row, src)
        assert str(err.value) == MISSING[field]
    else:  # the documented default (`{source}-{line}` for the id)
        assert normalise(row, src)[field] == FIELDS[field]["default"].format(source=SOURCE, line=LINE)


@pytest.mark.parametrize("field", [n for n, f in FIELDS.items() if len(f["aliases"]) > 1])
def test_the_first_alias_present_and_not_null_wins(src, field):
    aliases = FIELDS[field]["aliases"]
    values = {"images": ["img/a.png", b"not an image"]}.get(field, [f"{field} {i}" for i in range(len(aliases))])
    row = {k: v for k, v in ROW.items() if k != field}
    both = {**row, aliases[0]: values[0], aliases[1]: values[1]}
    # The first alias wins over the second; once it is null, the second is read.
    if field == "images":
        assert is_the_red_png(normalise(both, src)["images"][0])
        with pytest.raises(RowError, match="not an image"):
            normalise({**both, aliases[0]: None}, src)
    else:
        assert normalise(both, src)[field] == values[0]
        assert normalise({**both, aliases[0]: None}, src)[field] == values[1]


TEXT_BUILDERS = {
    "string": ("  red ", "red"),
    "number": (3, "3"),
    "utf8_bytes": ("café".encode(), "café"),
    "list": (["", "  ", "red", "rouge"], "red"),
}


def test_every_documented_text_form_has_a_case_here():
    assert set(TEXT_BUILDERS) == {f["name"] for f in FORMS["text_forms"]}


@pytest.mark.parametrize("form", [f["name"] for f in FORMS["text_forms"]])
@pytest.mark.parametrize("field", ["instruction", "reference", "task_type"])
def test_every_text_form_is_read(src, form, field):
    value, text = TEXT_BUILDERS[form]
    assert normalise({**ROW, field: value}, src)[field] == text


def _image_refs(form: str, src: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    """The ways to write src/img/a.png in `form`."""
    png = (src / "img" / "a.png").read_bytes()
    b64 = base64.b64encode(png).decode()
    if form == "absolute_path":
        monkeypatch.setenv("HOME", str(src))
    return {
        "relative_path": ["img/a.png"],
        "absolute_path": [str(src / "img" / "a.png"), "~/img/a.png"],
        "hf_image_dict": [{"bytes": png, "path": None}, {"bytes": None, "path": "img/a.png"}],
        "raw_bytes": [png, bytearray(png)],
        "base64": [b64, b64[:40] + "\n" + b64[40:]],
        "data_url": [f"data:image/png;base64,{b64}"],
    }[form]


def test_every_documented_image_form_has_a_case_here(src, monkeypatch):
    for form in FORMS["image_forms"]:
        assert _image_refs(form["name"], src, monkeypatch)


@pytest.mark.parametrize("form", [f["name"] for f in FORMS["image_forms"]])
def test_every_image_form_is_read_alone_or_in_a_list(src, monkeypatch, form):
    for ref in _image_refs(form, src, monkeypatch):
        for images in (ref, [ref, "img/a.png"]):
            got = normalise({**ROW, "images": images}, src)["images"]
            assert len(got) == (2 if isinstance(images, list) else 1)
            assert all(Path(p).is_absolute() and is_the_red_png(p) for p in got)
    row = {k: v for k, v in ROW.items() if k != "images"}
    with pytest.raises(RowError, match=f"^{MISSING['images']}$"):
        normalise(row, src)
    with pytest.raises(RowError, match="^image list is empty$"):
        normalise({**row, "images": []}, src)


def test_the_source_formats_are_the_recipe_schema_formats():
    assert list(FORMS["source_formats"]) == schema_enum("data", "sources", "[]", "format")
