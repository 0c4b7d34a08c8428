"""Training benchmark, ours: ipa_worker's pair loader and train_dpo, one run per process.
Usage: train_ours.py MODEL PAIRS OUT_DIR SETTINGS_JSON; prints one JSON line."""

import json
import sys
import time

import torch
from ipa_worker.contract import recipe_defaults
from ipa_worker.contract.recipe_types import Training
from ipa_worker.training.dpo_trainer import DpoJob, train_dpo
from ipa_worker.training.pair_dataset import load_pairs
from timing import LoopTimer, peak_rss_mib


def main(model: str, pairs: str, out: str, settings: str) -> None:
    s = json.loads(settings)
    # The benchmark's settings override the recipe defaults, as a recipe would.
    defaults = recipe_defaults()
    training = Training.from_dict(
        {
            **defaults["training"],
            "dpo": {**defaults["training"]["dpo"], **s["dpo"]},
            "lora": {**defaults["training"]["lora"], **s["lora"]},
        }
    )
    model_cfg = {**defaults["model"], **s["model"]}
    torch.set_num_threads(s["threads"])
    t = time.perf_counter()
    timer = LoopTimer()
    job = DpoJob(
        start={"base": model, "adapter": None},
        out_dir=f"{out}/policy",
        checkpoint_dir=f"{out}/ckpt",
        max_steps=s["max_steps"],
    )
    train_dpo(load_pairs([pairs])[0], job, training, model_cfg, callbacks=[timer])
    print(json.dumps({**timer.result(), "total_seconds": time.perf_counter() - t, "peak_rss_mib": peak_rss_mib()}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
