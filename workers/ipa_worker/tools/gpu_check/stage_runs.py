"""The check's workload run through the worker's own stage functions, as a worker runs its jobs.

Payloads are built the way the orchestrator builds them (the recipe's defaults from the contract
files, outputs where the planner puts them) and handed to `ipa_worker.stages.<stage>.run` with a
`StageContext` over the process's `Engines`. Each stage is timed and its peak memory read.

Random weights judge nothing: the model verifier's verdicts are nearly all "unparseable", so the
pair stage would have no pairs. The train stage gets pairs made here in the pair stage's format
instead: two responses of the same seed, the first as chosen and the second as rejected.
"""

from __future__ import annotations

import copy
import importlib
import json
import resource
import time
from pathlib import Path
from typing import Any

from ... import stages
from ...context import StageContext
from ...contract import recipe_defaults, stage_outputs
from ...data.jsonl_io import atomic_write_jsonl, read_jsonl
from ...data.synthetic_task import generate_synthetic
from ...models.engines import Engines
from ...models.messages import assistant_messages, user_messages
from .workloads import Workload

ROUND, SHARD = 1, 0


def check_recipe(base: str, w: Workload, backend: str, device: str = "cuda") -> dict[str, Any]:
    """The recipe's defaults with the check's sizes on `device`: model verifier, LoRA DPO with
    gradient checkpointing, every pair trained on (none held out), no checkpoint saved mid-run."""
    r = recipe_defaults()
    r["name"] = "gpu-check"
    r["model"].update(base=base, device=device, dtype="auto", min_pixels=w.pixels, max_pixels=w.pixels)
    r["generation"]["backend"] = backend
    r["sampling"].update(num_normal=w.normal, num_contrastive=w.contrastive,
                         max_new_tokens=w.sample_tokens, batch_size=w.sample_batch)  # fmt: skip
    r["verifier"].update(kind="model", max_new_tokens=w.verify_tokens)
    r["training"]["dpo"].update(batch_size=w.dpo_batch, grad_accum=1, epochs=1, gradient_checkpointing=True,
                                max_length=w.max_length, save_steps=10_000, heldout_pairs=0.0)  # fmt: skip
    r["training"]["train_reviser"] = False
    return r


def payload(run_dir: Path, stage: str, recipe: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """A stage request as the orchestrator sends it (see contract/stage_payload.schema.json)."""
    spec = {"base": recipe["model"]["base"], "adapter": None}
    return {
        "run_id": "gpu-check",
        "run_dir": str(run_dir),
        "job_id": f"gpu-check.r{ROUND}.{stage}.s{SHARD:03d}",
        "round": ROUND,
        "stage": stage,
        "shard": SHARD,
        "attempt": 1,
        "recipe": copy.deepcopy(recipe),
        "inputs": inputs,
        "outputs": {k: str(run_dir / v) for k, v in stage_outputs(stage, ROUND, SHARD).items()},
        "models": {"generator": dict(spec), "reviser": dict(spec), "verifier": dict(spec)},
        "options": {"contrastive": True, "revision": True, "reference_guided": False, "batch_scale": 1.0},
    }


def write_seeds(data_dir: Path, run_dir: Path, seeds: int, image_side: int) -> str:
    """`seeds` rows of the synthetic task as the round's seed shard (image paths made absolute)."""
    data = generate_synthetic(str(data_dir), train=seeds, heldout=0, image_size=image_side)
    rows = [dict(r, images=[str(Path(data["dir"]) / p) for p in r["images"]]) for r in read_jsonl(data["train"])]
    return str(atomic_write_jsonl(run_dir / f"round-{ROUND}/seeds/shard-{SHARD:03d}.jsonl", rows)["path"])


def write_pairs(run_dir: Path, seeds_path: str, responses_path: str, n: int) -> str:
    """`n` pairs in the pair stage's format: per seed, responses taken two by two (chosen, rejected)."""
    seeds = {s["id"]: s for s in read_jsonl(seeds_path)}
    by_seed: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(read_jsonl(responses_path), key=lambda r: r["sample_id"]):
        by_seed.setdefault(r["seed_id"], []).append(r)
    pairs = []
    for sid, rs in by_seed.items():
        seed = seeds[sid]
        for chosen, rejected in zip(rs[0::2], rs[1::2]):
            pairs.append({"id": f"{chosen['sample_id']}~{rejected['sample_id']}", "seed_id": sid, "images": seed["images"],
                          "prompt": user_messages(seed["instruction"], len(seed["images"])),
                          "chosen": assistant_messages(chosen["response"]), "rejected": assistant_messages(rejected["response"])})  # fmt: skip
    if len(pairs) < n:
        raise SystemExit(f"the sample stage gave {len(pairs)} pairs, the DPO steps need {n}")
    path = run_dir / stage_outputs("pair", ROUND, SHARD)["pairs"]
    return str(atomic_write_jsonl(path, pairs[:n])["path"])


class StageRunner:
    """Runs stages through their modules with one context and engine, recording time and memory."""

    def __init__(self, run_dir: Path, cuda: bool):
        self.run_dir = run_dir
        self.cuda = cuda
        self.engines = Engines()
        self.ctx = StageContext(models=self.engines)
        self.results: dict[str, dict[str, Any]] = {}

    def run(self, stage: str, recipe: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        p = payload(self.run_dir, stage, recipe, inputs)
        (self.run_dir / "payloads").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "payloads" / f"{stage}.json").write_text(json.dumps(p, indent=1))
        module = importlib.import_module(f"{stages.__name__}.{stage}")
        self.ctx = StageContext(models=self.engines)  # each job counts its own generation
        self._reset_peak()
        t0 = time.perf_counter()
        result = module.run(p, self.ctx)
        seconds = time.perf_counter() - t0
        self.results[stage] = {"seconds": seconds, **self._peak(), "metrics": result["metrics"],
                               "outputs": result["outputs"], "failed_items": len(result.get("failed_items", []))}  # fmt: skip
        return result

    def preload(self, recipe: dict[str, Any], inputs: dict[str, Any]) -> float:
        """Builds the engine the sample stage will ask for (the same settings, so the same engine),
        as a long-lived worker holds it between jobs, so the sample stage's tokens/s is
        generation, not loading; returns the load's seconds."""
        t0 = time.perf_counter()
        self.engines.role(payload(self.run_dir, "sample", recipe, inputs), "generator")
        return time.perf_counter() - t0

    def release_models(self) -> None:
        """Closes the engine, as a worker that only trains holds none."""
        self.engines.clear()

    def _reset_peak(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()

    def _peak(self) -> dict[str, Any]:
        if self.cuda:
            import torch

            return {
                "peak_memory_bytes": int(torch.cuda.max_memory_allocated()),
                "peak_memory_kind": "cuda_max_memory_allocated",
            }
        # The process's high-water mark so far (Linux reports kilobytes): the best a CPU offers.
        return {
            "peak_memory_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024,
            "peak_memory_kind": "process_max_rss",
        }
