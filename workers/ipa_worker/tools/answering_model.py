"""The tiny Qwen2-VL after a short answer-only SFT on the synthetic task: a fixture for tests.

Integration tests need a policy whose samples sometimes pass the verifier and sometimes fail, so
that a round builds pairs and trains. A randomly initialised model almost never names the right
answer (measured: 1 of 48 samples on the test seeds, at the 698-token vocabulary of the tiny
tokenizer), so pairs would hinge on luck. This model has seen `items` warm-up items (their own
split, disjoint from the test seeds) for `epochs` epochs; on the 12 test seeds it answers about half
of its samples right (27 of 48 measured), with most seeds mixed. Built once and cached; the
marker names every setting, so a change rebuilds it.

CLI: python -m ipa_worker.tools.answering_model OUT_DIR [--base DIR] [--items N] [--epochs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..contract import recipe_defaults
from ..data.dirbuild import build_dir_atomically, read_marker
from ..models.tiny_model import FORMAT_VERSION as TINY_FORMAT
from ..models.tiny_model import build_tiny_model

FORMAT_VERSION = 1


def _marker(items: int, epochs: float, seed: int) -> dict:
    return {
        "kind": "answering_tiny_qwen2_vl",
        "version": FORMAT_VERSION,
        "tiny_version": TINY_FORMAT,
        "items": items,
        "epochs": epochs,
        "seed": seed,
    }


def build_answering_model(out_dir: str, *, base: str, items: int = 256, epochs: float = 10, seed: int = 0) -> str:
    """Build at `out_dir` unless an identical build is there; the tiny base is built first if missing."""
    marker = _marker(items, epochs, seed)

    def build(tmp: Path) -> None:
        import torch

        from ..contract.recipe_types import Recipe
        from ..data.synthetic_task import generate_synthetic
        from ..training.sft_trainer import SftJob, SftSettings, seed_rows_to_dataset, train_sft

        torch.manual_seed(seed)
        build_tiny_model(base)
        scratch = Path(tempfile.mkdtemp(prefix="answering-", dir=tmp.parent))
        try:
            data = generate_synthetic(str(scratch / "data"), train=0, heldout=0, warmup=items, seed=seed)
            rows = [json.loads(line) for line in Path(data["warmup"]).read_text(encoding="utf-8").splitlines() if line]
            for r in rows:
                r["images"] = [os.path.join(data["dir"], p) for p in r["images"]]
            defaults = recipe_defaults()
            model_cfg = {**defaults["model"], "device": "cpu", "dtype": "float32"}
            settings = SftSettings.warmup(Recipe.from_dict(defaults))
            settings = dataclasses.replace(
                settings, epochs=float(epochs), learning_rate=1e-3, full_finetune=True, batch_size=16, max_length=256, save_steps=1_000_000, bf16="auto", seed=seed
            )  # fmt: skip
            job = SftJob(
                start={"base": base, "adapter": None},
                out_dir=str(scratch / "model"),
                checkpoint_dir=str(scratch / "checkpoints"),
            )
            train_sft(seed_rows_to_dataset(rows), job, settings, model_cfg)
            for f in (scratch / "model").iterdir():
                shutil.move(str(f), tmp / f.name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return str(build_dir_atomically(out_dir, build, lambda p: read_marker(p) == marker, marker))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ipa_worker.tools.answering_model", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir")
    parser.add_argument("--base", required=True, help="the tiny model's folder (built there if missing)")
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--epochs", type=float, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_answering_model(args.out_dir, base=args.base, items=args.items, epochs=args.epochs, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
