"""The typed views of a recipe (contract/recipe_types.py, generated from the recipe's JSON Schema)."""

from __future__ import annotations

import dataclasses

import pytest
from ipa_worker.contract import recipe_defaults, recipe_schema
from ipa_worker.contract.recipe_types import Recipe, TrainingDpo


def _check(view, schema: dict, path: str) -> None:
    """Every property of `schema` is a field of `view` (and nothing else), numbers are floats."""
    props = schema["properties"]
    assert {f.name for f in dataclasses.fields(view)} == set(props), path
    for name, sub in props.items():
        value = getattr(view, name)
        if dataclasses.is_dataclass(value):
            _check(value, sub, f"{path}.{name}")
        elif sub.get("type") == "number" and value is not None:
            assert type(value) is float, f"{path}.{name}"
        elif sub.get("type") == "integer" and value is not None:
            assert type(value) is int, f"{path}.{name}"


def test_every_setting_of_the_schema_is_a_typed_field():
    _check(Recipe.from_dict(recipe_defaults()), recipe_schema(), "recipe")


def test_json_integers_become_floats_where_the_schema_says_number_and_views_are_frozen():
    recipe = recipe_defaults()
    recipe["training"]["dpo"].update(beta=1, learning_rate=1, epochs=2)
    dpo = Recipe.from_dict(recipe).training.dpo
    assert (dpo.beta, dpo.learning_rate, dpo.epochs) == (1.0, 1.0, 2.0) and type(dpo.epochs) is float
    assert dpo.loss_weights is None  # optional in zod, no default: None when the recipe leaves it out
    with pytest.raises(dataclasses.FrozenInstanceError):
        dpo.beta = 0.5  # type: ignore[misc]
    assert isinstance(dpo, TrainingDpo)
