"""Shared fixtures of the worker tests.

- `tiny_model_dir` (session): path of a tiny random Qwen2-VL checkpoint (`ipa_worker.models.tiny_model`),
  built once per test session into a temp folder. Load it with `Engines.hf_role` / `load_processor`.
- `tiny_synth_dir` (session): a small synthetic data set (12 train, 12 held-out rows) in a temp folder.
- `engines` (session): one `Engines` (the worker process's one generation engine) shared by the
  tests, so the tiny model loads once.
- `jsonl_source` (function): a JSONL seed source with good rows and one of every kind of bad row
  (`seed_files.write_seed_source`).
- `make_payload` (function): `make_payload(stage, run_dir, *, round=1, shard=0, recipe=None,
  inputs=None, outputs=None, models=None, options=None, **recipe_overrides)` returns a
  StagePayload dict as in docs/ARCHITECTURE.md: the full default recipe (`default_recipe`)
  deep-merged with `recipe_overrides` (e.g. `sampling={"num_normal": 2}`), completed with the
  schema's defaults where an override leaves fields out and checked against it, the stage's output paths under `run_dir`, and every role's model set to
  `{"base": <tiny model>, "adapter": None}`. Defaults, schema and paths all come from the contract
  files zod generates (`ipa_worker.contract`), so nothing here restates orchestrator/recipe.
- `default_recipe(base)`, `build_payload(base, stage, run_dir, ...)`: plain functions in `payloads.py`
  (import them from there).
- Helper modules beside this file, imported by name (`pythonpath` in workers/pyproject.toml):
  `payloads` (recipes and payloads), `pair_files` (pair shards), `dpo_inputs` (small DPO settings
  and pairs), `model_folders.open_standard_way(folder)` (loads a model folder a run wrote as
  outside tools do: `AutoProcessor`, `AutoModelForImageTextToText`, an adapter through
  transformers' PEFT integration), `tracker_files` (TensorBoard and W&B offline records),
  `seed_files` (seed sources with good and bad rows), `lmms_outputs` (what lmms-eval prints),
  `method_shard` (a seeded shard for the method stages), `generation_inputs` (prompts with images).

Tests mirror the package: `tests/<folder>/test_<module>.py` tests `ipa_worker/<folder>/<module>.py`.

Torch runs on 2 threads: the test machines are small and shared.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch
from payloads import build_payload
from seed_files import write_seed_source

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from ipa_worker.models.tiny_model import build_tiny_model

    return build_tiny_model(str(tmp_path_factory.mktemp("tiny") / "model"), seed=0)


@pytest.fixture(scope="session")
def tiny_synth_dir(tmp_path_factory) -> str:
    from ipa_worker.data.synthetic_task import generate_synthetic

    return generate_synthetic(str(tmp_path_factory.mktemp("synth") / "data"), train=12, heldout=12, seed=0)["dir"]


@pytest.fixture(scope="session")
def engines():
    from ipa_worker.models.engines import Engines

    engines = Engines()
    yield engines
    engines.clear()


@pytest.fixture
def make_payload(tiny_model_dir):
    return functools.partial(build_payload, tiny_model_dir)


@pytest.fixture
def jsonl_source(tmp_path) -> Path:
    return write_seed_source(tmp_path)
