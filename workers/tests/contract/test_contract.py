"""The contract files zod generates, as the Python side loads them."""

from __future__ import annotations

import pytest
from ipa_worker.contract import (
    payload_schema,
    recipe_defaults,
    recipe_schema,
    schema_defaults,
    schema_enum,
    seed_row_aliases,
    seed_row_field,
    stage_outputs,
    stage_paths,
)
from ipa_worker.method.perturbations import RANGE_FIELDS
from jsonschema.validators import validator_for


def test_the_defaults_are_a_valid_recipe_and_callers_get_their_own_copy():
    schema = recipe_schema()
    validator_for(schema)(schema).validate(recipe_defaults())
    mine = recipe_defaults()
    mine["data"]["max_image_bytes"] = 1
    assert recipe_defaults()["data"]["max_image_bytes"] > 1


def test_payload_schema_requires_the_validated_recipe():
    schema = payload_schema()
    assert schema["properties"]["recipe"]["required"] == recipe_schema()["required"]


def test_stage_outputs_fill_round_and_shard():
    assert stage_outputs("verify", 2, 7) == {"verdicts": "round-2/verdicts/shard-007.jsonl"}
    assert stage_outputs("prepare", 0, 0) == {"seeds": "data/seeds.jsonl", "rejected": "data/rejected_seeds.jsonl"}
    assert "advance" not in stage_paths()


def test_item_defaults_and_perturbation_fields_come_from_the_schema():
    assert schema_defaults("data", "sources", "[]") == {"format": "jsonl", "weight": 1}
    kinds = {p["kind"]: p for p in recipe_defaults()["sampling"]["perturbations"]}
    assert set(RANGE_FIELDS) == set(kinds)
    assert all(len(kinds[k][field]) == 2 for k, field in RANGE_FIELDS.items())


def test_enums_are_read_from_the_recipe_schema():
    from ipa_worker.evaluation.lmms_command import BACKENDS
    from ipa_worker.training.tracking import TRACKERS

    assert schema_enum("training", "report_to") == ["none", *TRACKERS]
    assert TRACKERS == ("tensorboard", "wandb", "mlflow", "trackio")
    assert BACKENDS == tuple(
        recipe_schema()["properties"]["eval"]["properties"]["lmms_eval"]["properties"]["model"]["enum"]
    )
    assert schema_enum("data", "sources", "[]", "format") == ["jsonl", "parquet", "hf", "sharegpt"]
    with pytest.raises(KeyError, match="seed has no enum"):
        schema_enum("seed")


def test_seed_row_fields_come_with_their_aliases_in_order_of_preference():
    assert seed_row_aliases("instruction") == ("instruction", "question", "prompt")
    assert seed_row_aliases("images") == ("images", "image")
    assert seed_row_field("task_type")["default"] == "general"
    with pytest.raises(KeyError, match="not a seed row field"):
        seed_row_field("caption")
