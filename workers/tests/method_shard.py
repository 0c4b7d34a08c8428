"""A round-1 shard for the method stages (verify → revise → verify_revisions → pair → train): two
seeds with images and four responses each, and recipe overrides small enough for a CPU."""

from pathlib import Path

from ipa_worker.data.jsonl_io import atomic_write_jsonl
from PIL import Image

SMALL = dict(
    model={"device": "cpu", "max_pixels": 56 * 56},
    sampling={"batch_size": 4},
    reviser={"max_new_tokens": 8, "max_revisions_per_seed": 2},
    verifier={"max_new_tokens": 8},
    training={"dpo": {"batch_size": 2, "save_steps": 1, "max_length": 512}, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]}},
)  # fmt: skip


def shard(run: Path):
    seeds = []
    for i, ref in enumerate(["red", "blue"]):
        img = run / "images" / f"s{i}.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (56, 56), (200, 0, 0) if ref == "red" else (0, 0, 200)).save(img)
        seeds.append(
            {
                "id": f"s{i}",
                "images": [str(img)],
                "instruction": "What colour is the square?",
                "reference": ref,
                "task_type": "vqa",
                "source": "t",
            }
        )
    seeds_path = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(seeds_path, seeds)
    texts = {"s0": ["red", "It is red.", "green", "a blue square"], "s1": ["yellow", "green", "purple", "pink"]}
    responses = [
        {
            "seed_id": sid,
            "sample_id": f"{sid}/n{k}",
            "kind": "normal",
            "perturbation": None,
            "response": t,
            "gen_seed": 0,
            "num_tokens": 1,
        }
        for sid, ts in texts.items()
        for k, t in enumerate(ts)
    ]
    resp_path = run / "round-1" / "responses" / "shard-000.jsonl"
    atomic_write_jsonl(resp_path, responses)
    return str(seeds_path), str(resp_path)


def square_image(run: Path, i: int) -> str:
    """A 56x56 image for seed `i` under the run folder; the colour depends on `i`."""
    path = run / "images" / f"s{i}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (56, 56), (40 * i % 255, 0, 200)).save(path)
    return str(path)
