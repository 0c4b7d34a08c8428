"""Shared fixtures of the worker tests.

- `tiny_model_dir` (session): path of a tiny random Qwen2-VL checkpoint (`ipa_worker.tools.tiny_model`),
  built once per test session into a temp folder. Load it with `ModelPool` / `load_processor`.
- `tiny_synth_dir` (session): a small synthetic data set (12 train, 12 held-out rows) in a temp folder.
- `model_pool` (session): one `ModelPool` shared by the tests, so the tiny model loads once.
- `make_payload` (function): `make_payload(stage, run_dir, *, round=1, shard=0, recipe=None,
  inputs=None, outputs=None, models=None, options=None, **recipe_overrides)` returns a
  StagePayload dict as in docs/ARCHITECTURE.md: the full default recipe (`default_recipe`, all
  defaults filled, snake_case like orchestrator/recipe/schema.ts) deep-merged with
  `recipe_overrides` (e.g. `sampling={"num_normal": 2}`), the stage's default output paths under
  `run_dir`, and every role's model set to `{"base": <tiny model>, "adapter": None}`.
- `default_recipe(base)`: that recipe as a plain function (importable: `from conftest import default_recipe`).

Torch runs on 2 threads: the test machines are small and shared.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

torch.set_num_threads(2)


def default_recipe(base: str, name: str = "test") -> dict[str, Any]:
    """The recipe with every default of orchestrator/recipe/schema.ts filled in."""
    lora = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    return {
        "name": name,
        "seed": 0,
        "runs_dir": "runs",
        "allowed_roots": [],
        "model": {
            "base": base, "build_tiny": False, "tiny_seed": 0, "dtype": "auto", "device": "auto",
            "attn_implementation": "sdpa", "min_pixels": 56 * 56, "max_pixels": 448 * 448,
        },
        "data": {
            "sources": [],
            "synthetic": {"enabled": False, "output_dir": "data/synthetic", "train_size": 64, "heldout_size": 48, "seed": 0, "image_size": 56},
            "shard_size": 16, "max_instruction_chars": 4000, "max_image_bytes": 32 * 1024 * 1024, "max_image_side": 8192,
        },
        "sampling": {
            "backend": "hf", "num_normal": 4, "num_contrastive": 4, "temperature": 1.0, "top_p": 0.95,
            "max_new_tokens": 128, "batch_size": 16,
            "perturbations": [
                {"kind": "gaussian_noise", "weight": 1, "std": [0.05, 0.2]},
                {"kind": "blur", "weight": 1, "radius": [1, 3]},
                {"kind": "downscale", "weight": 1, "factor": [0.2, 0.5]},
                {"kind": "crop", "weight": 1, "fraction": [0.5, 0.8]},
                {"kind": "color_jitter", "weight": 1, "strength": [0.2, 0.6]},
            ],
        },
        "verifier": {"kind": "model", "rule_mode": "auto", "max_new_tokens": 96, "model": "initial"},
        "reviser": {"max_revisions_per_seed": 4, "temperature": 0.7, "max_new_tokens": 128},
        "pairs": {"max_pairs_per_seed": 2, "rejected_choice": "closest", "feedback_pairs": True},
        "rounds": [
            {"name": "automated", "contrastive": True, "revision": True, "reference_guided": False},
            {"name": "self-evolution", "contrastive": True, "revision": True, "reference_guided": False},
            {"name": "reference-guided", "contrastive": True, "revision": True, "reference_guided": True},
        ],
        "warmup": {"sft": {"enabled": False, "epochs": 3, "learning_rate": 1e-4, "batch_size": 8, "full_finetune": True, "lora": dict(lora)}},
        "training": {
            "dpo": {
                "beta": 0.1, "loss_type": "sigmoid", "learning_rate": 5e-6, "epochs": 1, "batch_size": 4, "grad_accum": 1,
                "gradient_checkpointing": False, "bf16": "auto", "precompute_ref_log_probs": False, "max_length": 1024,
                "save_steps": 50, "full_finetune": False, "lora": dict(lora), "seed": 0,
            },
            "train_reviser": True, "pairs_from": "cumulative", "adapters_from": "initial", "reference_model": "initial",
        },
        "eval": {"benchmarks": [], "max_new_tokens": 32, "batch_size": 16, "after": "every_round", "lmms_eval": {"enabled": False, "tasks": ["pope", "mme"]}},
        "orchestration": {
            "attempts": 3, "backoff_ms": 2000, "lock_duration_ms": 60000, "stalled_interval_ms": 30000,
            "concurrency": {"sample": 1, "verify": 1, "revise": 1, "train": 1, "eval": 1},
        },
    }  # fmt: skip


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def stage_outputs(stage: str, round_: int, shard: int) -> dict[str, str]:
    """Output paths relative to the run dir, as orchestrator/plan/paths.ts names them."""
    f = lambda kind: f"round-{round_}/{kind}/shard-{shard:03d}.jsonl"  # noqa: E731
    return {
        "prepare": {"seeds": "data/seeds.jsonl", "rejected": "data/rejected_seeds.jsonl"},
        "sft": {"model": "models/sft", "checkpoints": "checkpoints/sft", "metrics": "metrics/sft.jsonl"},
        "sample": {"responses": f("responses")},
        "verify": {"verdicts": f("verdicts")},
        "revise": {"revisions": f("revisions")},
        "verify_revisions": {"revision_verdicts": f("revision_verdicts")},
        "pair": {"pairs": f("pairs"), "feedback_pairs": f("feedback_pairs"), "challenging": f("challenging")},
        "train": {
            "policy": f"round-{round_}/models/policy", "reviser": f"round-{round_}/models/reviser",
            "checkpoints": f"round-{round_}/checkpoints", "metrics": f"round-{round_}/train_metrics.jsonl",
        },
        "eval": {"eval": f"eval/round-{round_}.json"},
        "report": {"report": "report.md", "plot": "accuracy.png"},
    }[stage]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from ipa_worker.tools.tiny_model import build_tiny_model

    return build_tiny_model(str(tmp_path_factory.mktemp("tiny") / "model"), seed=0)


@pytest.fixture(scope="session")
def tiny_synth_dir(tmp_path_factory) -> str:
    from ipa_worker.data.synthetic_task import generate_synthetic

    return generate_synthetic(str(tmp_path_factory.mktemp("synth") / "data"), train=12, heldout=12, seed=0)["dir"]


@pytest.fixture(scope="session")
def model_pool():
    from ipa_worker.models.model_pool import ModelPool

    pool = ModelPool(max_loaded=2)
    yield pool
    pool.clear()


@pytest.fixture
def make_payload(tiny_model_dir):
    def build(
        stage: str,
        run_dir: str | Path,
        *,
        round: int = 1,  # noqa: A002 - the payload's field name
        shard: int = 0,
        recipe: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, str] | None = None,
        models: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        **recipe_overrides: Any,
    ) -> dict[str, Any]:
        run_dir = str(Path(run_dir).resolve())
        rec = deep_merge(recipe or default_recipe(tiny_model_dir), recipe_overrides)
        outs = outputs or {k: str(Path(run_dir) / v) for k, v in stage_outputs(stage, round, shard).items()}
        spec = {"base": rec["model"]["base"], "adapter": None}
        return {
            "run_id": "test-run",
            "run_dir": run_dir,
            "job_id": f"test-run.r{round}.{stage}.s{shard:03d}",
            "round": round,
            "stage": stage,
            "shard": shard,
            "attempt": 1,
            "recipe": rec,
            "inputs": inputs or {},
            "outputs": outs,
            "models": models or {"generator": dict(spec), "reviser": dict(spec), "verifier": dict(spec)},
            "options": {"contrastive": True, "revision": True, "reference_guided": False, "batch_scale": 1.0, **(options or {})},
        }

    return build
