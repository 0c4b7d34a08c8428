"""Stage `sample`: K normal + K' contrastive responses per seed, perturbed images, per-seed failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipa_worker.context import StageContext
from ipa_worker.data.images import image_digest, load_image
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl, sha256_file
from ipa_worker.errors import Cancelled
from ipa_worker.stages import sample

SAMPLING = {"num_normal": 2, "num_contrastive": 2, "max_new_tokens": 4, "batch_size": 4}


@pytest.fixture
def seeds_file(tmp_path, tiny_synth_dir) -> Path:
    rows = [json.loads(line) for line in (Path(tiny_synth_dir) / "train.jsonl").read_text().splitlines()][:3]
    seeds = [
        {"id": r["id"], "images": [str(Path(tiny_synth_dir) / r["images"][0])], "instruction": r["instruction"],
         "reference": r["reference"], "task_type": r["task_type"], "source": "synthetic"}
        for r in rows
    ]  # fmt: skip
    seeds.insert(1, dict(seeds[0], id="gone", images=[str(tmp_path / "deleted.png")]))
    path = tmp_path / "run" / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(path, seeds)
    return path


def _payload(make_payload, seeds_file: Path, **options):
    return make_payload(
        "sample", seeds_file.parents[2], inputs={"seeds": str(seeds_file)}, options=options,
        sampling=SAMPLING, model={"device": "cpu"},
    )  # fmt: skip


def test_rows_perturbations_and_failures(make_payload, seeds_file, engines):
    payload = _payload(make_payload, seeds_file)
    result = sample.run(payload, StageContext(models=engines))
    rows = read_jsonl(payload["outputs"]["responses"])
    assert result["outputs"]["responses"]["rows"] == len(rows) == 3 * 4
    assert result["outputs"]["responses"]["sha256"] == sha256_file(payload["outputs"]["responses"])
    assert [f["id"] for f in result["failed_items"]] == ["gone"] and "not found" in result["failed_items"][0]["reason"]
    m = result["metrics"]
    assert (m["responses"], m["normal"], m["contrastive"], m["failed_seeds"]) == (12, 6, 6, 1)
    # What generated, how many tokens (the rows' own counts) and in how long: the done record's.
    assert m["engine"] == "hf" and m["generated_tokens"] == sum(r["num_tokens"] for r in rows) and m["generation_s"] > 0

    seeds = {s["id"]: s for s in read_jsonl(seeds_file)}
    keys = {"seed_id", "sample_id", "kind", "perturbation", "response", "gen_seed", "num_tokens", "image_sha256"}
    for row in rows:
        assert set(row) == keys
        original = image_digest([load_image(p) for p in seeds[row["seed_id"]]["images"]])
        k = row["sample_id"].rsplit("/", 1)[1]
        if row["kind"] == "normal":
            assert k in ("n0", "n1") and row["perturbation"] is None
            assert row["image_sha256"] == original  # the model saw the seed's image
        else:
            assert k in ("c0", "c1") and row["perturbation"]["kind"] in (
                "gaussian_noise",
                "blur",
                "downscale",
                "crop",
                "color_jitter",
            )
            assert row["image_sha256"] != original  # ... and a perturbed one here
        assert row["sample_id"].startswith(row["seed_id"] + "/")
    contrastive = [r["image_sha256"] for r in rows if r["kind"] == "contrastive"]
    assert len(set(contrastive)) == len(contrastive)  # t drawn per sample

    # A retry regenerates the very same file.
    again = sample.run(payload, StageContext(models=engines))
    assert again["outputs"]["responses"]["sha256"] == result["outputs"]["responses"]["sha256"]


def test_halving_the_batch_or_moving_to_another_round(make_payload, seeds_file, engines):
    """An OOM retry (batch_scale 0.5) writes the same texts; round 2 draws new perturbations and texts."""
    ctx = StageContext(models=engines)
    first = _payload(make_payload, seeds_file)
    sample.run(first, ctx)
    halved = _payload(make_payload, seeds_file, batch_scale=0.5)
    halved["outputs"]["responses"] = first["outputs"]["responses"] + ".halved"
    sample.run(halved, ctx)
    rows = {r["sample_id"]: r for r in read_jsonl(first["outputs"]["responses"])}
    assert {r["sample_id"]: r for r in read_jsonl(halved["outputs"]["responses"])} == rows

    later = _payload(make_payload, seeds_file)
    later["round"] = 2
    later["outputs"]["responses"] = first["outputs"]["responses"] + ".round2"
    sample.run(later, ctx)
    round2 = {r["sample_id"]: r for r in read_jsonl(later["outputs"]["responses"])}
    contrastive = [k for k in rows if rows[k]["kind"] == "contrastive"]
    assert all(round2[k]["perturbation"] != rows[k]["perturbation"] for k in contrastive)
    assert all(round2[k]["gen_seed"] != rows[k]["gen_seed"] for k in rows)


def test_no_contrastive_when_the_round_disables_it(make_payload, seeds_file, engines):
    payload = _payload(make_payload, seeds_file, contrastive=False, batch_scale=0.5)
    result = sample.run(payload, StageContext(models=engines))
    rows = read_jsonl(payload["outputs"]["responses"])
    assert {r["kind"] for r in rows} == {"normal"} and len(rows) == 6
    assert result["metrics"]["batch_size"] == 2


def test_cancellation_stops_between_batches(make_payload, seeds_file, engines):
    payload = _payload(make_payload, seeds_file)
    holder: dict = {}

    def emit(msg):  # the orchestrator asks to stop as soon as the first batch reports progress
        if msg["type"] == "progress":
            holder["ctx"].cancel()

    ctx = holder["ctx"] = StageContext(emit=emit, models=engines, min_progress_interval=0)
    with pytest.raises(Cancelled):
        sample.run(payload, ctx)
    assert not Path(payload["outputs"]["responses"]).exists()  # nothing half-written
