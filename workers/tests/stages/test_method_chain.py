"""verify -> revise -> verify_revisions -> pair -> train stage handlers on a tiny shard."""

import json
from pathlib import Path

from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl, sha256_file
from ipa_worker.stages import pair, revise, train, verify, verify_revisions
from method_shard import SMALL, shard
from model_folders import open_standard_way
from tracker_files import tensorboard_scalars


def test_method_stages_end_to_end(tmp_path, make_payload, engines):
    run = tmp_path / "run"
    seeds_path, resp_path = shard(run)
    ctx = StageContext(models=engines)

    p = make_payload(
        "verify",
        run,
        inputs={"responses": resp_path, "seeds": seeds_path},
        verifier={"kind": "rule"},
        **{k: v for k, v in SMALL.items() if k != "verifier"},
    )
    res = verify.run(p, ctx)
    verdicts = read_jsonl(p["outputs"]["verdicts"])
    assert [v["verdict"] for v in verdicts] == [1, 1, 0, 0, 0, 0, 0, 0]
    assert res["metrics"]["n"] == 8 and res["metrics"]["pass_rate"] == 0.25
    assert res["outputs"]["verdicts"]["sha256"] == sha256_file(p["outputs"]["verdicts"])
    assert verdicts[0]["checks"]["entailed"] is None  # rule verdicts state no checks

    # The model verifier runs too (a random tiny model writes noise: such outputs are unjudged, null).
    pm = make_payload("verify", tmp_path / "mrun", inputs={"responses": resp_path, "seeds": seeds_path}, **SMALL)
    mres = verify.run(pm, ctx)
    assert mres["metrics"]["n"] == 8
    mrows = read_jsonl(pm["outputs"]["verdicts"])
    assert all(v["verdict"] in (0, 1, None) and isinstance(v["raw"], str) for v in mrows)
    assert mres["metrics"]["judged"] + mres["metrics"]["unjudged"] == 8
    # every response still unjudged was judged a second time (verifier.rejudge)
    assert all(v.get("rejudged") for v in mrows if v["verdict"] is None)

    p = make_payload(
        "revise",
        run,
        inputs={"responses": resp_path, "verdicts": p["outputs"]["verdicts"], "seeds": seeds_path},
        options={"reference_guided": True},
        **SMALL,
    )
    res = revise.run(p, ctx)
    revisions = read_jsonl(p["outputs"]["revisions"])
    # At most 2 responses per seed, each with reviser.feedbacks_per_response (2) feedback samples.
    assert [r["source_sample_id"] for r in revisions] == [
        "s0/n2",
        "s0/n2",
        "s0/n3",
        "s0/n3",
        "s1/n0",
        "s1/n0",
        "s1/n1",
        "s1/n1",
    ]
    assert [r["sample_id"][len(r["source_sample_id"]) :] for r in revisions] == ["/r0", "/r1"] * 4
    assert all(r["reference_guided"] for r in revisions)
    # A random tiny model writes noise: make one refinement pass and set the feedback texts, so
    # a feedback pair (two feedbacks on the same response) forms deterministically.
    revisions[0].update(refined="red", feedback="Name the colour of the square.")
    revisions[1].update(feedback="Looks fine to me.")
    atomic_write_jsonl(p["outputs"]["revisions"], revisions)

    p = make_payload(
        "verify_revisions",
        run,
        inputs={"revisions": p["outputs"]["revisions"], "seeds": seeds_path},
        verifier={"kind": "rule"},
    )
    res = verify_revisions.run(p, ctx)
    rverdicts = read_jsonl(p["outputs"]["revision_verdicts"])
    assert rverdicts[0] == {**rverdicts[0], "sample_id": "s0/n2/r0", "verdict": 1}

    rd = run / "round-1"
    p = make_payload(
        "pair", run,
        inputs={
            "seeds": seeds_path, "responses": resp_path, "verdicts": str(rd / "verdicts/shard-000.jsonl"),
            "revisions": str(rd / "revisions/shard-000.jsonl"), "revision_verdicts": str(rd / "revision_verdicts/shard-000.jsonl"),
        },
    )  # fmt: skip
    res = pair.run(p, ctx)
    pairs = read_jsonl(p["outputs"]["pairs"])
    assert res["metrics"]["pairs"] == len(pairs) == 2
    assert pairs[0]["chosen_id"] == "s0/n2/r0" and pairs[0]["rejected_id"] == "s0/n2"  # refinement vs its source
    fpairs = read_jsonl(p["outputs"]["feedback_pairs"])
    assert len(fpairs) == 1 and (fpairs[0]["chosen_id"], fpairs[0]["rejected_id"]) == ("s0/n2/r0", "s0/n2/r1")
    assert "Reference answer: red" in fpairs[0]["prompt"][0]["content"][1]["text"]  # the guided prompt it saw
    assert [s["id"] for s in read_jsonl(p["outputs"]["challenging"])] == ["s1"]

    train_cfg = SMALL["training"] | {"report_to": ["tensorboard"]}
    p = make_payload(
        "train",
        run,
        inputs={"pairs": [p["outputs"]["pairs"]], "feedback_pairs": [p["outputs"]["feedback_pairs"]]},
        **(SMALL | {"training": train_cfg}),
    )
    sent: list[dict] = []
    res = train.run(p, StageContext(emit=sent.append, min_progress_interval=0))
    # The job log marks where policy training ends and reviser training starts; progress names the phase.
    assert [x["msg"] for x in sent if x["type"] == "log" and x["fields"].get("phase")] == [
        "policy DPO: 2 pairs, 1 epoch",
        "reviser DPO: 1 feedback pairs, 1 epoch",
    ]
    phases = [x["metrics"].get("phase") for x in sent if x["type"] == "progress"]
    assert (
        phases.index("policy DPO: loading model")
        < phases.index("policy DPO")
        < phases.index("reviser DPO: loading model")
        < phases.index("reviser DPO")
    )
    m = res["metrics"]
    assert m["steps"] == 1 and m["reviser_steps"] == 1 and m["final_loss"] is not None
    # DPO reward accuracy before training: a fresh adapter is the reference itself, so every margin is 0
    assert m["reward_accuracy_train_pairs_before"] == 0.0 and m["reward_margin_train_pairs_before"] == 0.0
    assert set(res["outputs"]) == {"policy", "reviser"}
    assert (Path(p["outputs"]["policy"]) / "adapter_config.json").is_file()
    assert (Path(p["outputs"]["checkpoints"]) / "policy" / "checkpoint-1").is_dir()
    assert (Path(p["outputs"]["checkpoints"]) / "reviser" / "checkpoint-1").is_dir()
    lines = [json.loads(x) for x in Path(p["outputs"]["metrics"]).read_text().splitlines()]
    assert [x["model"] for x in lines] == ["policy", "reviser"]
    for model in ("policy", "reviser"):  # adapter folders open as outside tools open them
        assert open_standard_way(res["outputs"][model]["path"]) == ("Qwen2VLProcessor", "qwen2_vl", True)
        # training.report_to reaches both trainers of the stage, each under its own run name
        assert tensorboard_scalars(run / "tracking" / "tensorboard" / f"test-run-r1-{model}", "train/loss")[0][0] == 1
