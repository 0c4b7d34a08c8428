"""Shared fixtures of the worker tests.

- `tiny_model_dir` (session): path of a tiny random Qwen2-VL checkpoint (`ipa_worker.tools.tiny_model`),
  built once per test session into a temp folder. Load it with `ModelPool` / `load_processor`.
- `tiny_synth_dir` (session): a small synthetic data set (12 train, 12 held-out rows) in a temp folder.
- `model_pool` (session): one `ModelPool` shared by the tests, so the tiny model loads once.
- `make_payload` (function): `make_payload(stage, run_dir, *, round=1, shard=0, recipe=None,
  inputs=None, outputs=None, models=None, options=None, **recipe_overrides)` returns a
  StagePayload dict as in docs/ARCHITECTURE.md: the full default recipe (`default_recipe`)
  deep-merged with `recipe_overrides` (e.g. `sampling={"num_normal": 2}`), completed with the
  schema's defaults where an override leaves fields out and checked against it, the stage's output paths under `run_dir`, and every role's model set to
  `{"base": <tiny model>, "adapter": None}`. Defaults, schema and paths all come from the contract
  files zod generates (`ipa_worker.contract`), so nothing here restates orchestrator/recipe.
- `default_recipe(base)`: that recipe as a plain function (importable: `from conftest import default_recipe`).
- `open_standard_way(folder)`: loads a model folder a run wrote as outside tools do
  (`AutoProcessor`, `AutoModelForImageTextToText`; an adapter folder through transformers' PEFT
  integration) and returns `(processor class name, model type, adapter loaded)`.

Torch runs on 2 threads: the test machines are small and shared.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from jsonschema.validators import validator_for

from ipa_worker.contract import recipe_defaults, recipe_schema, stage_outputs

torch.set_num_threads(2)

_SCHEMA = recipe_schema()
_VALIDATOR = validator_for(_SCHEMA)(_SCHEMA)


def default_recipe(base: str, name: str = "test") -> dict[str, Any]:
    """The recipe with every default filled in, from the contract zod generates (recipe_defaults.json)."""
    recipe = recipe_defaults()
    recipe["name"] = name
    recipe["model"]["base"] = base
    return recipe


def fill_defaults(value: Any, node: dict[str, Any] = _SCHEMA) -> Any:
    """`value` with the schema's defaults filled in where it leaves fields out, as zod's parse does
    on the Node side: overrides may add partial objects (a source with only its path)."""
    for variant in node.get("oneOf", node.get("anyOf", [])):
        consts = {k: p["const"] for k, p in variant.get("properties", {}).items() if "const" in p}
        if consts and isinstance(value, dict) and all(value.get(k) == c for k, c in consts.items()):
            return fill_defaults(value, variant)
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        out = {k: copy.deepcopy(p["default"]) for k, p in props.items() if "default" in p and k not in value}
        return out | {k: fill_defaults(v, props[k]) if k in props else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [fill_defaults(v, node["items"]) for v in value]
    return value


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def open_standard_way(folder: str | Path) -> tuple[str, str, bool]:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(str(folder))
    model = AutoModelForImageTextToText.from_pretrained(str(folder))
    adapter = bool(getattr(model, "_hf_peft_config_loaded", False))
    return type(processor).__name__, model.config.model_type, adapter


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
        rec = fill_defaults(deep_merge(recipe or default_recipe(tiny_model_dir), recipe_overrides))
        _VALIDATOR.validate(rec)  # a recipe Node could have sent
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
