"""The train stage's objectives (dpo with held-out pairs; the rft and sft_reference baselines),
the verify stage's audit against ground truth, and the pair stage's accepted rows."""

import json
from pathlib import Path

from PIL import Image

from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
from ipa_worker.models.messages import assistant_messages, user_messages
from ipa_worker.context import StageContext
from ipa_worker.stages import pair, train, verify
from ipa_worker.training.pair_dataset import split_by_seed

SMALL = dict(
    model={"device": "cpu", "max_pixels": 56 * 56},
    training={
        "dpo": {"batch_size": 2, "save_steps": 50, "max_length": 512, "heldout_pairs": 0.5, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]}},
        "sft": {"batch_size": 2, "epochs": 1},
    },
)  # fmt: skip


def _image(run: Path, i: int) -> str:
    path = run / "images" / f"s{i}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (56, 56), (40 * i % 255, 0, 200)).save(path)
    return str(path)


def _pairs(run: Path, n: int) -> str:
    rows = [
        {
            "id": f"r1/s{i}/n0~s{i}/n1", "seed_id": f"s{i}", "round": 1, "images": [_image(run, i)],
            "prompt": user_messages("What colour?", 1), "chosen": assistant_messages("red"), "rejected": assistant_messages("blue"),
        }
        for i in range(n)
    ]  # fmt: skip
    path = run / "round-1" / "pairs" / "shard-000.jsonl"
    atomic_write_jsonl(path, rows)
    return str(path)


def test_held_out_pairs_are_whole_seeds_and_stable():
    rows = [{"seed_id": f"s{i % 20}", "k": i} for i in range(100)]
    train_rows, held = split_by_seed(rows, 0.3)
    assert len(train_rows) + len(held) == 100 and held
    assert not {r["seed_id"] for r in train_rows} & {r["seed_id"] for r in held}
    assert split_by_seed(rows, 0.3) == (train_rows, held)
    assert split_by_seed(rows, 0.0) == (rows, [])


def test_dpo_reports_reward_accuracy_over_all_training_and_held_out_pairs(tmp_path, make_payload):
    run = tmp_path / "run"
    p = make_payload("train", run, inputs={"pairs": [_pairs(run, 12)], "feedback_pairs": []}, **SMALL)
    m = train.run(p, StageContext())["metrics"]
    assert m["objective"] == "dpo"
    assert m["pairs_train_pairs"] + m["pairs_heldout_pairs"] == 12 and m["pairs_heldout_pairs"] > 0
    for name in ("train_pairs", "heldout_pairs"):
        assert 0.0 <= m[f"reward_accuracy_{name}"] <= 1.0 and isinstance(m[f"reward_margin_{name}"], float)
    assert m["train_rows"] == m["pairs_train_pairs"]  # held-out seeds never reach training
    assert "last_batch_reward_accuracy" in m and "reward_accuracy_end" not in m


def test_rft_trains_on_accepted_responses(tmp_path, make_payload):
    run = tmp_path / "run"
    accepted = [{"seed_id": f"s{i}", "sample_id": f"s{i}/n0", "images": [_image(run, i)], "instruction": "What colour?", "text": "red"} for i in range(4)]
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
    seeds = [{"id": f"s{i}", "images": [_image(run, i)], "instruction": "What colour?", "reference": "red", "task_type": "colour"} for i in range(3)]
    path = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(path, seeds)
    p = make_payload("train", run, inputs={"seeds": [str(path)], "pairs": [], "feedback_pairs": []}, **SMALL)
    p["recipe"]["training"]["objective"] = "sft_reference"
    res = train.run(p, StageContext())
    assert res["metrics"]["train_rows"] == 3 and (Path(res["outputs"]["policy"]["path"]) / "adapter_config.json").is_file()


def test_audit_counts_and_accepted_rows(tmp_path, make_payload, model_pool):
    run = tmp_path / "run"
    seeds = [{"id": "s0", "images": [_image(run, 0)], "instruction": "What colour?", "reference": "red", "task_type": "colour", "source": "t"}]
    seeds_path = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(seeds_path, seeds)
    texts = ["red", "Red.", "blue", "red square"]
    responses = [{"seed_id": "s0", "sample_id": f"s0/n{k}", "kind": "normal", "perturbation": None, "response": t} for k, t in enumerate(texts)]
    resp_path = run / "round-1" / "responses" / "shard-000.jsonl"
    atomic_write_jsonl(resp_path, responses)
    # The rule verifier in contains mode passes "red square" (truly wrong: a false positive).
    p = make_payload("verify", run, inputs={"responses": str(resp_path), "seeds": str(seeds_path)}, verifier={"kind": "rule", "rule_mode": "contains", "audit": "exact"})
    m = verify.run(p, StageContext(models=model_pool))["metrics"]
    assert (m["audit_tp"], m["audit_fp"], m["audit_fn"], m["audit_tn"], m["audit_true"]) == (2, 1, 0, 1, 2)
    assert [v["truth"] for v in read_jsonl(p["outputs"]["verdicts"])] == [1, 1, 0, 0]

    pp = make_payload("pair", run, inputs={"seeds": str(seeds_path), "responses": str(resp_path), "verdicts": p["outputs"]["verdicts"]}, verifier={"audit": "exact"})
    pm = pair.run(pp, StageContext())["metrics"]
    accepted = read_jsonl(pp["outputs"]["accepted"])
    assert [a["text"] for a in accepted] == ["red", "Red."]  # distinct verified texts, at most max_pairs_per_seed
    assert pm["accepted"] == 2 and 0 <= pm["chosen_correct"] <= pm["pairs"]
