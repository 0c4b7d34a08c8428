"""Engine limits from the run, not the call: the most images a prompt of the run holds and the
longest sequence it can need, from the prepared seeds, the local benchmarks and the recipe."""

from __future__ import annotations

import json
from pathlib import Path

from ipa_worker.data.jsonl_io import atomic_write_jsonl
from ipa_worker.models.engines import Engines
from ipa_worker.models.processor import load_processor
from ipa_worker.models.run_limits import run_limits
from method_shard import square_image

PIXELS = 56 * 56


def _run(tmp_path: Path, images_per_seed: list[int], instruction: str = "What colour is the square?") -> Path:
    run = tmp_path / "run"
    rows = [
        {
            "id": f"s{i}",
            "images": [square_image(run, i * 10 + k) for k in range(n)],
            "instruction": instruction,
            "reference": "red",
        }
        for i, n in enumerate(images_per_seed)
    ]
    atomic_write_jsonl(run / "data" / "seeds.jsonl", rows)
    return run


def test_images_and_sequence_bound_come_from_the_run(tmp_path, make_payload, tiny_model_dir):
    processor = load_processor(tiny_model_dir, PIXELS, PIXELS)
    run = _run(tmp_path, [1, 3, 2])
    p = make_payload("sample", run, model={"min_pixels": PIXELS, "max_pixels": PIXELS})
    one = run_limits(p["recipe"], str(run), tiny_model_dir, processor)
    assert one.max_images == 3 and one.max_model_len % 16 == 0
    # A longer instruction, a larger image bound, more new tokens: each raises the bound.
    longer = run_limits(p["recipe"], str(_run(tmp_path / "b", [1, 3], "Name it. " * 50)), tiny_model_dir, processor)
    assert longer.max_images == 3 and longer.max_model_len > one.max_model_len
    more = make_payload(
        "sample", run, model={"min_pixels": PIXELS, "max_pixels": PIXELS}, sampling={"max_new_tokens": 400}
    )
    assert run_limits(more["recipe"], str(run), tiny_model_dir, processor).max_model_len >= one.max_model_len + 2 * (
        400 - 128
    )
    # A local benchmark with more images per row than any seed raises the images per prompt.
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"id": "q", "images": ["a.png"] * 5, "question": "?", "answer": "x"}) + "\n")
    with_bench = make_payload(
        "eval",
        run,
        model={"min_pixels": PIXELS, "max_pixels": PIXELS},
        eval={"benchmarks": [{"name": "b", "path": str(bench)}]},
    )
    assert run_limits(with_bench["recipe"], str(run), tiny_model_dir, processor).max_images == 5


def test_every_stage_of_a_run_asks_for_the_same_engine_whatever_its_prompts(tmp_path, make_payload, tiny_model_dir):
    """The vLLM engine's identity for each stage of one run: a shard whose seeds have one image asks
    for the same limits as the run's three-image seed; only `generation.vllm.max_model_len` caps it."""
    run = _run(tmp_path, [1, 3])
    shard = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(shard, [{"id": "s0", "images": [square_image(run, 0)], "instruction": "?", "reference": "red"}])
    model = {"min_pixels": PIXELS, "max_pixels": PIXELS}
    limits = [
        Engines().vllm_limits(
            make_payload(stage, run, inputs={"seeds": str(shard)}, model=model), tiny_model_dir, (PIXELS, PIXELS)
        )
        for stage in ("sample", "verify", "revise", "verify_revisions")
    ]
    assert all(x == limits[0] for x in limits) and limits[0]["max_images"] == 3
    capped = make_payload("sample", run, model=model, generation={"vllm": {"max_model_len": 700}})
    assert Engines().vllm_limits(capped, tiny_model_dir, (PIXELS, PIXELS))["max_model_len"] == 700
