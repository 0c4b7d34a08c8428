"""The contract zod owns (orchestrator/recipe), as the files `npm run contract` generates here.

Python restates none of it: the recipe's defaults and enums, the JSON Schemas of the recipe and
the stage payload, where each stage writes, the bridge protocol (its version, methods and
message schemas) and the seed-row forms the data loader accepts all come from these files, and a vitest test fails when they drift from the zod
schemas. Never edit the JSON files by hand. `recipe_types` (generated too) gives the recipe as typed,
frozen dataclasses: `Recipe.from_dict(payload["recipe"])`.

Stdlib only: the protocol server may import this before anything heavy.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _load(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def recipe_schema() -> dict[str, Any]:
    """JSON Schema of a validated recipe (`recipe.json`): every defaulted field is required."""
    return copy.deepcopy(_load("recipe.schema.json"))


def payload_schema() -> dict[str, Any]:
    """JSON Schema of a `stage` request's params (the StagePayload Node sends in `configure`)."""
    return copy.deepcopy(_load("stage_payload.schema.json"))


def recipe_defaults() -> dict[str, Any]:
    """A complete recipe with every default filled in (`name` and `model.base` are placeholders)."""
    return copy.deepcopy(_load("recipe_defaults.json"))


def schema_defaults(*path: str) -> dict[str, Any]:
    """The defaults the recipe schema declares for the fields of the object at `path`.

    `path` names properties from the recipe's root; "[]" steps into an array's items:
    `schema_defaults("data", "sources", "[]")` is `{"format": "jsonl", "weight": 1}`.
    """
    node = _load("recipe.schema.json")
    for step in path:
        node = node["items"] if step == "[]" else node["properties"][step]
    return {k: copy.deepcopy(v["default"]) for k, v in node["properties"].items() if "default" in v}


def schema_enum(*path: str) -> list[Any]:
    """The values the recipe schema allows for the field at `path` (steps as in `schema_defaults`):
    its enum or const, or those of every branch of a union (an array's items included), in order.

    `schema_enum("training", "report_to")` is `["none", "tensorboard", "wandb", "mlflow", "trackio"]`.
    """
    node = _load("recipe.schema.json")
    for step in path:
        node = node["items"] if step == "[]" else node["properties"][step]
    out: list[Any] = []

    def collect(n: dict[str, Any]) -> None:
        for value in n.get("enum", [n["const"]] if "const" in n else []):
            if value not in out:
                out.append(value)
        for branch in n.get("anyOf", []) + n.get("oneOf", []):
            collect(branch)
        if isinstance(n.get("items"), dict):
            collect(n["items"])

    collect(node)
    if not out:
        raise KeyError(f"{'.'.join(path)} has no enum in the recipe schema")
    return out


def protocol_spec() -> dict[str, Any]:
    """The bridge protocol (orchestrator/contract/protocol.ts): `version`, `max_line_bytes`, `methods`,
    the message types each side sends (`from_worker`, `from_orchestrator`) and each message's JSON
    Schema under `messages`, as it is on the wire."""
    return copy.deepcopy(_load("protocol.json"))


def stage_paths() -> dict[str, dict[str, str]]:
    """Each Python stage's output path templates, relative to the run directory, with the format
    fields `{round}` and `{shard:03d}` (orchestrator/plan/paths.ts `stageOutputs`)."""
    return copy.deepcopy(_load("stage_paths.json"))


def stage_outputs(stage: str, round: int, shard: int) -> dict[str, str]:  # noqa: A002 - the payload's name
    """The outputs of one job of `stage`, by name, relative to the run directory."""
    return {name: template.format(round=round, shard=shard) for name, template in _load("stage_paths.json")[stage].items()}


def seed_row_forms() -> dict[str, Any]:
    """The forms a seed row may take (orchestrator/recipe/seed-row-forms.ts): `fields` (each with its
    `aliases` in order of preference, `required`, `default`), `text_forms`, `image_forms`, the
    sharegpt `conversation` layout and the `source_formats`, each with its `doc`."""
    return copy.deepcopy(_load("seed_row_forms.json"))


def seed_row_field(name: str) -> dict[str, Any]:
    """One seed row field of `seed_row_forms()`: `seed_row_field("task_type")["default"]` is `"general"`."""
    for f in _load("seed_row_forms.json")["fields"]:
        if f["name"] == name:
            return copy.deepcopy(f)
    raise KeyError(f"{name} is not a seed row field")


def seed_row_aliases(name: str) -> tuple[str, ...]:
    """The keys a seed row's field is read from, in order of preference:
    `seed_row_aliases("reference")` is `("reference", "answer", "response")`."""
    return tuple(seed_row_field(name)["aliases"])
