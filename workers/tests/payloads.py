"""Stage payloads for tests, as Node would send them: the default recipe from the contract files,
overrides deep-merged in, schema defaults filled, outputs where the planner puts them. Shared by
the worker tests (conftest) and the optional vLLM tests (workers/tests_vllm).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ipa_worker.contract import recipe_defaults, recipe_schema, stage_outputs
from jsonschema.validators import validator_for

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


def build_payload(
    base: str,
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
    """What `make_payload` builds, for a model at `base` (usable from module-scoped fixtures)."""
    run_dir = str(Path(run_dir).resolve())
    rec = fill_defaults(deep_merge(recipe or default_recipe(base), recipe_overrides))
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
        "options": {
            "contrastive": True,
            "revision": True,
            "reference_guided": False,
            "batch_scale": 1.0,
            **(options or {}),
        },
    }
