"""Odd images (issue 14, finding 5): a 4000x10 image, an animation, a 16-bit picture.

Each is named with its reason where it is met: rejected by `prepare`, or a failed item of
`sample`, `eval` and `train` naming seed and image; the rest of the shard goes on, and nothing
raises a whole-job error the orchestrator would retry.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ipa_worker.context import StageContext
from ipa_worker.data.image_limits import ProcessorLimits, size_problem
from ipa_worker.data.images import header_problem, load_image
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
from ipa_worker.errors import BadInput
from ipa_worker.evaluation.benchmarks import Benchmark, evaluate
from ipa_worker.models.generation import generate
from ipa_worker.models.messages import user_messages
from ipa_worker.stages import sample
from ipa_worker.training.pair_dataset import load_pairs
from payloads import default_recipe
from PIL import Image

TINY = ProcessorLimits(factor=28, min_pixels=56 * 56, max_pixels=112 * 112)


def _model_cfg(base: str) -> dict:
    return {**default_recipe(base)["model"], "device": "cpu", "dtype": "float32"}


@pytest.fixture
def odd(tmp_path) -> dict[str, str]:
    """Paths of odd image files next to a good one."""
    out = {}
    Image.new("RGB", (56, 56), (200, 30, 30)).save(out.setdefault("good", str(tmp_path / "good.png")))
    Image.new("RGB", (4000, 10), (30, 200, 30)).save(out.setdefault("wide", str(tmp_path / "wide.png")))
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(out.setdefault("animated", str(tmp_path / "animated.gif")), save_all=True, append_images=frames[1:])
    Image.fromarray(np.full((40, 40), 60000, dtype=np.uint16)).save(out.setdefault("deep", str(tmp_path / "deep.png")))
    return out


def test_size_problems_name_the_processor_limit():
    assert size_problem(56, 56, TINY) is None
    assert (
        size_problem(4000, 10, TINY) == "aspect ratio 400:1 (4000x10) is over the Qwen2-VL processor's limit of 200:1"
    )
    assert size_problem(10, 4000, TINY).startswith("aspect ratio 400:1")
    # Under the ratio limit but so thin that the smart resize needs more than max_pixels.
    assert "more than max_pixels 12544 (too thin to fit)" in size_problem(1990, 10, TINY)
    assert size_problem(1, 1, TINY) is None  # upscaled to min_pixels


def test_frames_and_modes_are_refused_when_decoded(odd):
    with pytest.raises(BadInput, match=r"animated\.gif: image has 2 frames \(an animation or a multi-page file\)"):
        load_image(odd["animated"])
    with pytest.raises(BadInput, match=r"deep\.png: pixel mode I;16 \(16-bit per pixel\) would be clipped"):
        load_image(odd["deep"])
    assert load_image(odd["good"]).mode == "RGB"
    assert header_problem(odd["wide"], TINY).endswith(
        "wide.png: aspect ratio 400:1 (4000x10) is over the Qwen2-VL processor's limit of 200:1"
    )
    assert "2 frames" in header_problem(odd["animated"], TINY)
    assert header_problem(odd["good"], TINY) is None


def test_generate_fails_the_odd_prompt_alone(odd, engines, tiny_model_dir):
    lm = engines.hf_role({"base": tiny_model_dir, "adapter": None}, _model_cfg(tiny_model_dir))
    good = Image.open(odd["good"]).convert("RGB")
    wide = Image.open(odd["wide"]).convert("RGB")
    prompts = [{"images": [img], "messages": user_messages("What colour?", 1)} for img in (good, wide, good)]
    out = generate(lm, prompts, temperature=0.0, max_new_tokens=3, seed=0, batch_size=3)
    assert [o.get("error") for o in out] == [
        None,
        "aspect ratio 400:1 (4000x10) is over the Qwen2-VL processor's limit of 200:1",
        None,
    ]
    assert out[0]["text"] == out[2]["text"] and out[1]["num_tokens"] == 0


def test_sample_shard_keeps_its_good_seeds(tmp_path, odd, tiny_synth_dir, make_payload, engines):
    rows = [json.loads(line) for line in (Path(tiny_synth_dir) / "train.jsonl").read_text().splitlines()][:11]
    seeds = [
        {
            "id": r["id"],
            "images": [str(Path(tiny_synth_dir) / r["images"][0])],
            "instruction": r["instruction"],
            "reference": r["reference"],
            "task_type": r["task_type"],
            "source": "s",
        }
        for r in rows
    ]
    seeds.insert(
        4,
        {
            "id": "wide-seed",
            "images": [odd["wide"]],
            "instruction": "What colour?",
            "reference": "green",
            "task_type": "colour",
            "source": "s",
        },
    )
    path = tmp_path / "run" / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(path, seeds)
    payload = make_payload(
        "sample",
        path.parents[2],
        inputs={"seeds": str(path)},
        sampling={"num_normal": 1, "num_contrastive": 1, "max_new_tokens": 2, "batch_size": 8},
        model={"device": "cpu"},
    )
    result = sample.run(payload, StageContext(models=engines))
    assert [f["id"] for f in result["failed_items"]] == ["wide-seed"]
    assert (
        result["failed_items"][0]["reason"]
        == f"{odd['wide']}: aspect ratio 400:1 (4000x10) is over the Qwen2-VL processor's limit of 200:1"
    )
    assert {r["seed_id"] for r in read_jsonl(payload["outputs"]["responses"])} == {s["id"] for s in seeds} - {
        "wide-seed"
    }
    assert result["metrics"]["seeds"] == 11 and result["metrics"]["failed_seeds"] == 1


def test_eval_item_fails_alone(tmp_path, odd, engines, tiny_model_dir):
    bench = tmp_path / "bench.jsonl"
    rows = [
        {"id": "ok", "image": odd["good"], "question": "What colour?", "answer": "red"},
        {"id": "wide", "image": odd["wide"], "question": "What colour?", "answer": "green"},
    ]
    bench.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lm = engines.hf_role({"base": tiny_model_dir, "adapter": None}, _model_cfg(tiny_model_dir))
    result = evaluate(
        lm,
        [Benchmark(name="b", path=str(bench))],
        max_new_tokens=2,
        batch_size=2,
        max_image_bytes=1 << 20,
        max_image_side=8192,
    )
    assert result["n"] == 1
    assert result["failed_items"] == [
        {
            "id": "b/wide",
            "reason": f"{odd['wide']}: aspect ratio 400:1 (4000x10) is over the Qwen2-VL processor's limit of 200:1",
        }
    ]


def test_training_leaves_out_a_pair_with_an_odd_image(tmp_path, odd):
    def pair(pid, img, seed):
        turn = lambda t: [{"role": "assistant", "content": [{"type": "text", "text": t}]}]  # noqa: E731
        return {
            "id": pid,
            "seed_id": seed,
            "images": [img],
            "prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Q"}]}],
            "chosen": turn("a"),
            "rejected": turn("b"),
        }

    path = tmp_path / "pairs.jsonl"
    atomic_write_jsonl(
        path, [pair("p1", odd["good"], "s1"), pair("p2", odd["wide"], "s2"), pair("p3", odd["animated"], "s3")]
    )
    ds, failed = load_pairs([str(path)], TINY)
    assert len(ds) == 1 and ds[0]["id"] == "p1"
    assert [f["id"] for f in failed] == ["p2", "p3"]
    assert failed[0]["reason"].startswith(f"pair of seed s2: {odd['wide']}: aspect ratio 400:1")
    assert "2 frames" in failed[1]["reason"]
