"""The verify stage's audit against ground truth, and the pair stage's accepted rows after it."""

from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
from ipa_worker.stages import pair, verify
from method_shard import square_image


def test_audit_counts_and_accepted_rows(tmp_path, make_payload, engines):
    run = tmp_path / "run"
    seeds = [
        {
            "id": "s0",
            "images": [square_image(run, 0)],
            "instruction": "What colour?",
            "reference": "red",
            "task_type": "colour",
            "source": "t",
        }
    ]
    seeds_path = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(seeds_path, seeds)
    texts = ["red", "Red.", "blue", "red square"]
    responses = [
        {"seed_id": "s0", "sample_id": f"s0/n{k}", "kind": "normal", "perturbation": None, "response": t}
        for k, t in enumerate(texts)
    ]
    resp_path = run / "round-1" / "responses" / "shard-000.jsonl"
    atomic_write_jsonl(resp_path, responses)
    # The rule verifier in contains mode passes "red square" (truly wrong: a false positive).
    p = make_payload(
        "verify",
        run,
        inputs={"responses": str(resp_path), "seeds": str(seeds_path)},
        verifier={"kind": "rule", "rule_mode": "contains", "audit": "exact"},
    )
    m = verify.run(p, StageContext(models=engines))["metrics"]
    assert (m["audit_tp"], m["audit_fp"], m["audit_fn"], m["audit_tn"], m["audit_true"]) == (2, 1, 0, 1, 2)
    assert [v["truth"] for v in read_jsonl(p["outputs"]["verdicts"])] == [1, 1, 0, 0]

    pp = make_payload(
        "pair",
        run,
        inputs={"seeds": str(seeds_path), "responses": str(resp_path), "verdicts": p["outputs"]["verdicts"]},
        verifier={"audit": "exact"},
    )
    pm = pair.run(pp, StageContext())["metrics"]
    accepted = read_jsonl(pp["outputs"]["accepted"])
    assert [a["text"] for a in accepted] == ["red", "Red."]  # distinct verified texts, at most max_pairs_per_seed
    assert pm["accepted"] == 2 and 0 <= pm["chosen_correct"] <= pm["pairs"]
