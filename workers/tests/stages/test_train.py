"""The train stage: the dpo objective with held-out pairs, the rft and sft_reference baselines,
and a round with no pairs."""

import json
from pathlib import Path

import method_shard
from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl
from ipa_worker.models.messages import assistant_messages, user_messages
from ipa_worker.stages import train
from method_shard import square_image
from model_folders import open_standard_way

SMALL = dict(
    model={"device": "cpu", "max_pixels": 56 * 56},
    training={
        "dpo": {"batch_size": 2, "save_steps": 50, "max_length": 512, "heldout_pairs": 0.5}, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]},
        "sft": {"batch_size": 2, "epochs": 1},
    },
)  # fmt: skip


def _pairs(run: Path, n: int) -> str:
    rows = [
        {
            "id": f"r1/s{i}/n0~s{i}/n1", "seed_id": f"s{i}", "round": 1, "images": [square_image(run, i)],
            "prompt": user_messages("What colour?", 1), "chosen": assistant_messages("red"), "rejected": assistant_messages("blue"),
        }
        for i in range(n)
    ]  # fmt: skip
    path = run / "round-1" / "pairs" / "shard-000.jsonl"
    atomic_write_jsonl(path, rows)
    return str(path)


def test_dpo_reports_reward_accuracy_over_all_training_and_held_out_pairs(tmp_path, make_payload):
    run = tmp_path / "run"
    p = make_payload("train", run, inputs={"pairs": [_pairs(run, 12)], "feedback_pairs": []}, **SMALL)
    sent: list[dict] = []
    m = train.run(p, StageContext(emit=sent.append))["metrics"]
    assert m["objective"] == "dpo"
    assert m["pairs_train_pairs"] + m["pairs_heldout_pairs"] == 12 and m["pairs_heldout_pairs"] > 0
    for name in ("train_pairs", "heldout_pairs"):
        assert 0.0 <= m[f"reward_accuracy_{name}"] <= 1.0 and isinstance(m[f"reward_margin_{name}"], float)
    assert m["train_rows"] == m["pairs_train_pairs"]  # held-out seeds never reach training
    assert "last_batch_reward_accuracy" in m and "reward_accuracy_end" not in m
    # The evaluation over all pairs reports its batches, each set to its end (issue 30: a long
    # evaluation is progress to a watcher, not a hang): both sets before training (the `_before`
    # figures) and after.
    ends = [
        (x["done"], x["total"])
        for x in sent
        if x["type"] == "progress"
        and x["metrics"].get("phase") == "policy DPO: reward evaluation"
        and x["done"] == x["total"]
    ]
    assert len(ends) == 4 and all(total >= 1 for _, total in ends)
    assert all(m[f"reward_accuracy_{name}_before"] is not None for name in ("train_pairs", "heldout_pairs"))


def test_rft_trains_on_accepted_responses(tmp_path, make_payload):
    run = tmp_path / "run"
    accepted = [
        {
            "seed_id": f"s{i}",
            "sample_id": f"s{i}/n0",
            "images": [square_image(run, i)],
            "instruction": "What colour?",
            "text": "red",
        }
        for i in range(4)
    ]
    path = run / "round-1" / "accepted" / "shard-000.jsonl"
    atomic_write_jsonl(path, accepted)
    p = make_payload("train", run, inputs={"accepted": [str(path)], "pairs": [], "feedback_pairs": []}, **SMALL)
    p["recipe"]["training"]["objective"] = "rft"
    res = train.run(p, StageContext())
    assert res["metrics"]["objective"] == "rft" and res["metrics"]["train_rows"] == 4 and res["metrics"]["steps"] == 2
    assert (Path(res["outputs"]["policy"]["path"]) / "adapter_config.json").is_file()  # an adapter, like a DPO policy
    assert set(res["outputs"]) == {"policy"}
    lines = [json.loads(x) for x in Path(p["outputs"]["metrics"]).read_text().splitlines()]
    assert {x["model"] for x in lines} == {"policy"}


def test_sft_reference_trains_on_the_seeds_references(tmp_path, make_payload):
    run = tmp_path / "run"
    seeds = [
        {
            "id": f"s{i}",
            "images": [square_image(run, i)],
            "instruction": "What colour?",
            "reference": "red",
            "task_type": "colour",
        }
        for i in range(3)
    ]
    path = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(path, seeds)
    p = make_payload("train", run, inputs={"seeds": [str(path)], "pairs": [], "feedback_pairs": []}, **SMALL)
    p["recipe"]["training"]["objective"] = "sft_reference"
    res = train.run(p, StageContext())
    assert (
        res["metrics"]["train_rows"] == 3 and (Path(res["outputs"]["policy"]["path"]) / "adapter_config.json").is_file()
    )


def test_train_with_zero_pairs(tmp_path, make_payload):
    empty = tmp_path / "run" / "round-1" / "pairs" / "shard-000.jsonl"
    empty.parent.mkdir(parents=True)
    empty.write_text("")
    p = make_payload(
        "train", tmp_path / "run", inputs={"pairs": [str(empty)], "feedback_pairs": []}, **method_shard.SMALL
    )
    sent: list[dict] = []
    res = train.run(p, StageContext(emit=sent.append))
    assert [x["msg"] for x in sent if x["type"] == "log" and x["fields"].get("phase")] == [
        "policy: no response pairs, so the start model is kept unchanged",
        "reviser: not trained (no feedback pairs, or training.train_reviser is off); the previous reviser stays in use",
    ]
    assert res["metrics"]["steps"] == 0 and res["metrics"]["skipped"] == "no pairs"
    assert set(res["outputs"]) == {"policy"}
    assert (Path(res["outputs"]["policy"]["path"]) / "adapter_config.json").is_file()
    assert open_standard_way(res["outputs"]["policy"]["path"]) == ("Qwen2VLProcessor", "qwen2_vl", True)
