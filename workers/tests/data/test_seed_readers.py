"""The sharegpt reader takes every conversation layout the contract documents (docs/recipe.md, "Seed rows"):
each key and speaker name, in its order of preference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipa_worker.contract import seed_row_forms
from ipa_worker.data.seed_readers import READERS
from ipa_worker.data.seed_rows import RowError

C = seed_row_forms()["conversation"]


def conversation(turns="conversations", speaker="from", text="value", human="human", assistant="gpt") -> dict:
    return {
        "id": "c1",
        "image": "a.png",
        turns: [
            {speaker: human, text: f"{C['image_token']}\nWhat colour?"},
            {speaker: assistant, text: "red"},
            {speaker: human, text: "Sure?"},
            {speaker: assistant, text: "yes"},
        ],
    }


def read(tmp_path: Path, items: list) -> list:
    (tmp_path / "chat.json").write_text(json.dumps(items))
    return [row for _, row in READERS["sharegpt"](tmp_path / "chat.json", None)]


@pytest.mark.parametrize(
    ("part", "name"), [(p, n) for p in ("turns", "speaker", "text", "human", "assistant") for n in C[p]], ids=str
)
def test_every_documented_key_and_speaker_is_read(tmp_path, part, name):
    (row,) = read(tmp_path, [conversation(**{part: name})])
    # The first human turn, without its image token; the next assistant turn; the other keys as they are.
    assert row == {"id": "c1", "image": "a.png", "instruction": "What colour?", "reference": "red"}


def test_names_are_taken_in_order_of_preference(tmp_path):
    first, second = C["turns"]
    both = {first: conversation()["conversations"], second: [{"from": "human", "value": "other"}]}
    empty_first = {first: [], second: conversation()["conversations"]}
    one_turn = {"from": "human", "role": "assistant", "value": "by value", "content": "by content"}
    rows = read(tmp_path, [both, empty_first, {first: [one_turn, {"role": "gpt", "from": None}]}])
    assert [r["instruction"] for r in rows] == ["What colour?", "What colour?", "by value"]
    # `from` is present (null) in the second turn, so its `role` is not read: no assistant turn.
    assert rows[2]["reference"] is None


def test_a_conversation_without_a_human_or_an_assistant_turn(tmp_path):
    no_human, no_answer = conversation(), conversation()
    no_human["conversations"] = no_human["conversations"][1:2]
    no_answer["conversations"] = no_answer["conversations"][:1]
    rows = read(tmp_path, [no_human, no_answer, "not an object"])
    assert str(rows[0]) == "conversation has no human turn" and isinstance(rows[0], RowError)
    assert rows[1]["reference"] is None  # normalise_row rejects it: "reference is missing"
    assert str(rows[2]) == "conversation is not a JSON object"
