"""The premise task through the stages: evaluation figures and the warm-up gate, the per-check audit,
the second judgement of unjudged responses, the reviser's control refinements, unjudged seeds
carried on, the oracle objective and the verifier gate. Model outputs are stood in for where the
test is about what a stage does with them (a random tiny model writes noise)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
from ipa_worker.data.premise_task import ideal_answer
from ipa_worker.evaluation import benchmarks, verifier_gate
from ipa_worker.method import reviser as reviser_mod
from ipa_worker.method.verifier import CHECKS
from ipa_worker.stages import eval as eval_stage
from ipa_worker.stages import pair, revise, train, verify, verify_revisions

PREMISE = {
    "synthetic": {
        "enabled": True,
        "task": "premise",
        "train_size": 14,
        "heldout_size": 14,
        "validation_size": 14,
        "audit_size": 10,
        "image_size": 84,
    }
}


class FakeRole:
    """A role whose generation is the test's function of the prompts."""

    def __init__(self, answer):
        self.answer = answer

    def generate(self, prompts, **kw):
        return self.answer(prompts)


class FakeModels(StageContext):
    """A context whose roles answer with `answer` (a function of the prompts)."""

    def __init__(self, answer=lambda prompts: []):
        super().__init__(min_progress_interval=0)
        self.answer = answer

    def role(self, payload, name):
        return FakeRole(self.answer)


def _rows(path: str) -> list[dict]:
    return [json.loads(x) for x in Path(path).read_text().splitlines()]


@pytest.fixture
def premise_run(tmp_path, make_payload):
    """A run folder with the premise task generated and its train split as the round's seeds."""
    run = tmp_path / "run"
    payload = make_payload(
        "prepare", run, data={**PREMISE, "synthetic": {**PREMISE["synthetic"], "output_dir": str(tmp_path / "task")}}
    )
    from ipa_worker.data.synthetic import synthetic_paths

    paths = synthetic_paths(payload["recipe"], str(run))
    folder = Path(paths["dir"])
    seeds = [
        {
            "id": r["id"],
            "images": [str(folder / r["images"][0])],
            "instruction": r["instruction"],
            "reference": r["reference"],
            "task_type": r["task_type"],
            "source": "synthetic",
        }
        for r in _rows(paths["train"])
    ]
    seeds_path = run / "round-1" / "seeds" / "shard-000.jsonl"
    atomic_write_jsonl(seeds_path, seeds)
    specs = {r["id"]: r["spec"] for r in _rows(paths["train"])}
    return {
        "run": run,
        "data": payload["recipe"]["data"],
        "paths": paths,
        "seeds": seeds,
        "seeds_path": str(seeds_path),
        "specs": specs,
    }


def test_evaluation_reports_fact_accuracy_compliance_and_success_per_family(premise_run, monkeypatch):
    rows = _rows(premise_run["paths"]["heldout"])
    # Every other item gets its compliant answer, the rest the terse reference (facts right, form wrong).
    answers = {
        r["instruction"] + r["id"]: ideal_answer(r["spec"], r["spec"]["facts"]) if i % 2 == 0 else r["reference"]
        for i, r in enumerate(rows)
    }
    order = [r["instruction"] + r["id"] for r in rows]
    lm = FakeRole(lambda prompts: [{"text": answers[k], "num_tokens": 1} for k in order[: len(prompts)]])
    res = benchmarks.evaluate(
        lm,
        [benchmarks.Benchmark("synthetic", premise_run["paths"]["heldout"])],
        max_new_tokens=8,
        batch_size=4,
        max_image_bytes=10**7,
        max_image_side=1000,
    )
    prem = res["premise"]
    assert prem["fact_accuracy"] == 1.0
    controls = sum(r["spec"]["family"] == "control" for i, r in enumerate(rows) if i % 2 == 1)
    assert prem["success"] == pytest.approx((7 + controls) / 14, abs=1e-6)
    assert prem["compliance"] == prem["success"]
    assert res["overall"] == prem["success"]
    assert set(prem["by_family"]) == {r["spec"]["family"] for r in rows}
    assert [i["id"] for i in prem["items"]] == [f"synthetic/{r['id']}" for r in rows]
    assert res["by_task"] == {f: v["success"] for f, v in prem["by_family"].items()}


@pytest.mark.parametrize("answer, passed", [("reference", True), ("wrong", False)])
def test_the_warmup_gate_scores_fact_accuracy_on_validation(premise_run, make_payload, monkeypatch, answer, passed):
    # evaluate() generates once per call, rows in file order: the held-out split, then validation.
    splits = [_rows(premise_run["paths"][s]) for s in ("heldout", "validation")] * 2
    other = {"red": "green", "green": "blue", "blue": "red"}

    def text(row):
        facts = row["spec"]["facts"]
        return (
            row["reference"] if answer == "reference" else f"{other[facts['colour']]} {facts['shape']}, {facts['side']}"
        )

    p = make_payload(
        "eval", premise_run["run"], round=0, data=premise_run["data"], eval={"min_warmup_fact_accuracy": 0.85}
    )
    ctx = FakeModels(lambda prompts: [{"text": text(r), "num_tokens": 1} for r in splits.pop(0)])
    res = eval_stage.run(p, ctx)
    doc = json.loads(Path(p["outputs"]["eval"]).read_text())
    gate = doc["warmup_gate"]
    assert gate["split"] == "validation" and gate["level"] == 0.85 and gate["n"] == 14
    assert gate["passed"] is passed and res["metrics"]["warmup_gate_passed"] is passed
    assert doc["premise"]["n"] == 14  # the held-out split, scored as usual
    # no gate after round 0 (nothing but the held-out split is generated for)
    p1 = make_payload(
        "eval", premise_run["run"], round=1, data=premise_run["data"], eval={"min_warmup_fact_accuracy": 0.85}
    )
    eval_stage.run(p1, ctx)
    assert json.loads(Path(p1["outputs"]["eval"]).read_text())["warmup_gate"] is None
    assert len(splits) == 1


def _responses(premise_run, texts_of) -> str:
    rows = [
        {
            "seed_id": s["id"],
            "sample_id": f"{s['id']}/n{k}",
            "kind": "normal",
            "perturbation": None,
            "response": t,
            "gen_seed": 0,
            "num_tokens": 1,
        }
        for s in premise_run["seeds"]
        for k, t in enumerate(texts_of(s, premise_run["specs"][s["id"]]))
    ]
    path = premise_run["run"] / "round-1" / "responses" / "shard-000.jsonl"
    atomic_write_jsonl(path, rows)
    return str(path)


def _fake_verifier(monkeypatch, first, second=None):
    """model_verify answering by `first(item)` and, when called again (the second judgement), `second(item)`."""
    calls = []

    def fake(lm, items, *, temperature=0.0, **kw):
        calls.append((len(items), temperature))
        decide = first if len(calls) == 1 else second
        return [decide(it) for it in items]

    monkeypatch.setattr(verify, "model_verify", fake)
    return calls


def _judgement(checks):
    return {
        "verdict": int(all(checks.values())) if None not in checks.values() else None,
        "checks": checks,
        "reason": "",
        "raw": "",
    }


def test_the_checker_audit_counts_each_check_and_unjudged_responses_are_judged_once_more(
    premise_run, make_payload, monkeypatch
):
    resp = _responses(premise_run, lambda s, spec: [ideal_answer(spec, spec["facts"]), s["reference"]])
    # First judgement: says every check holds for compliant answers and leaves terse ones unjudged;
    # second judgement: judges terse ones, wrongly passing the instruction check.
    yes = dict.fromkeys(CHECKS, True)
    calls = _fake_verifier(
        monkeypatch,
        lambda it: _judgement(yes if it["response"] != it["reference"] else dict.fromkeys(CHECKS, None)),
        lambda it: _judgement(yes),
    )
    p = make_payload(
        "verify",
        premise_run["run"],
        inputs={"responses": resp, "seeds": premise_run["seeds_path"]},
        data=premise_run["data"],
        verifier={"audit": "checker"},
    )
    m = verify.run(p, FakeModels())["metrics"]
    controls = sum(spec["family"] == "control" for spec in premise_run["specs"].values())
    terse = 14 - controls  # terse answers differ from the ideal except on control items
    again = 14 + controls  # the terse responses, and on control items the ideal too (it is the reference)
    assert calls == [(28, 0.0), (again, 0.7)]  # judged once more, sampled
    assert m["rejudged"] == again and m["rejudged_judged"] == again and m["unjudged"] == 0
    rows = read_jsonl(p["outputs"]["verdicts"])
    assert sum(r.get("rejudged", False) for r in rows) == again
    # instruction_followed: passed on all 28, truly held on 14 + controls
    assert (m["audit_instruction_followed_tp"], m["audit_instruction_followed_fp"]) == (14 + controls, terse)
    assert m["audit_entailed_tp"] == 28 and m["audit_entailed_fp"] == 0
    assert (m["audit_tp"], m["audit_fp"]) == (14 + controls, terse)
    assert all(set(r["truth_checks"]) == set(CHECKS) for r in rows)

    # rejudge off: unjudged stays unjudged, judged once
    calls = _fake_verifier(monkeypatch, lambda it: _judgement(dict.fromkeys(CHECKS, None)))
    p = make_payload(
        "verify",
        premise_run["run"] / "b",
        inputs={"responses": resp, "seeds": premise_run["seeds_path"]},
        data=premise_run["data"],
        verifier={"rejudge": False},
    )
    m = verify.run(p, FakeModels())["metrics"]
    assert len(calls) == 1 and m["unjudged"] == 28 and m["rejudged"] == 0


def test_control_refinements_use_empty_feedback_and_are_only_audited(premise_run, make_payload, monkeypatch):
    resp = _responses(premise_run, lambda s, spec: [s["reference"]])
    verdicts = [{"seed_id": s["id"], "sample_id": f"{s['id']}/n0", "verdict": 0} for s in premise_run["seeds"]]
    vpath = premise_run["run"] / "v.jsonl"
    atomic_write_jsonl(vpath, verdicts)
    seen = []

    def fake_generate(prompts):
        seen.append([p["messages"][0]["content"][-1]["text"] for p in prompts])
        return [
            {"text": "Not one word: give only the colour." if len(seen) == 1 else "red", "num_tokens": 1}
            for _ in prompts
        ]

    p = make_payload(
        "revise",
        premise_run["run"],
        inputs={"responses": resp, "verdicts": str(vpath), "seeds": premise_run["seeds_path"]},
        data=premise_run["data"],
        reviser={"control_refinements": True, "feedbacks_per_response": 1},
    )
    revise.run(p, FakeModels(fake_generate))
    rows = read_jsonl(p["outputs"]["revisions"])
    assert len(seen) == 3 and all(len(x) == 14 for x in seen)  # feedback, refinement, control refinement
    assert all("Feedback: Not one word" in t for t in seen[1])
    templates = reviser_mod.Templates(p["recipe"]["reviser"])
    control_prompts = [
        reviser_mod.refine_prompt(templates, s["instruction"], s["reference"], "") for s in premise_run["seeds"]
    ]
    assert seen[2] == control_prompts  # the same refine prompt with empty feedback
    assert all(r["control_refined"] == "red" for r in rows)

    # verify_revisions audits the controls (never judging them): "red" is right only for one-word colour items with a red shape
    _fake_verifier(monkeypatch, lambda it: _judgement(dict.fromkeys(CHECKS, False)))
    pv = make_payload(
        "verify_revisions",
        premise_run["run"],
        inputs={"revisions": p["outputs"]["revisions"], "seeds": premise_run["seeds_path"]},
        data=premise_run["data"],
        verifier={"audit": "checker"},
    )
    m = verify_revisions.run(pv, FakeModels())["metrics"]
    specs = premise_run["specs"]
    right = sum(
        s["family"] == "one_word" and s["asked"] == ["colour"] and s["facts"]["colour"] == "red" for s in specs.values()
    )
    assert m["control_n"] == 14 and m["audit_control_true"] == right
    assert m["n"] == 14  # the refinements were judged; the controls were not


def test_chosen_truth_from_the_checker_and_seeds_with_nothing_judged_carried_on(premise_run, make_payload):
    resp = _responses(premise_run, lambda s, spec: [ideal_answer(spec, spec["facts"]), s["reference"]])
    seeds = premise_run["seeds"]
    # the first 4 seeds have no judged response; the rest: the verifier passes both answers (wrong for the terse one)
    verdicts = [
        {"seed_id": s["id"], "sample_id": f"{s['id']}/n{k}", "verdict": None if i < 4 else [1, 0][k]}
        for i, s in enumerate(seeds)
        for k in range(2)
    ]
    vpath = premise_run["run"] / "v.jsonl"
    atomic_write_jsonl(vpath, verdicts)
    p = make_payload(
        "pair",
        premise_run["run"],
        inputs={"seeds": premise_run["seeds_path"], "responses": resp, "verdicts": str(vpath), "revisions": None},
        data=premise_run["data"],
        verifier={"audit": "checker"},
    )
    m = pair.run(p, StageContext())["metrics"]
    carried = [s["id"] for s in read_jsonl(p["outputs"]["challenging"])]
    assert carried[:4] == [s["id"] for s in seeds[:4]] and m["unjudged_seeds"] == 4
    non_control = sum(premise_run["specs"][s["id"]]["family"] != "control" for s in seeds[4:])
    assert m["pairs"] == non_control  # on control items the two answers are the same text
    assert m["chosen_correct"] == m["pairs"]


def test_the_oracle_objective_learns_the_checker_made_answers(premise_run, make_payload, monkeypatch):
    got = {}

    def fake_supervised(payload, ctx, examples):
        got["examples"] = examples
        return {"output": None, "metrics": {"steps": 0}}

    monkeypatch.setattr(train, "_supervised", fake_supervised)
    p = make_payload(
        "train",
        premise_run["run"],
        inputs={"seeds": [premise_run["seeds_path"]]},
        data=premise_run["data"],
        training={"objective": "sft_oracle"},
        verifier={"gate": {"enabled": True}},
    )
    train.run(p, StageContext())  # no gate: the oracle learns from no verdict
    texts = [e["completion"][0]["content"][0]["text"] for e in got["examples"]]
    specs = premise_run["specs"]
    assert texts == [ideal_answer(specs[s["id"]], specs[s["id"]]["facts"]) for s in premise_run["seeds"]]


def test_the_verifier_gate_stops_a_round_before_training_with_the_figures(premise_run, make_payload, monkeypatch):
    audit = _rows(premise_run["paths"]["audit"])
    labels = {(r["instruction"], r["response"], r["reference"]): r for r in audit}

    def verifier(right: int):
        def fake(lm, items, **kw):
            out = []
            for k, it in enumerate(items):
                row = labels[(it["instruction"], it["response"], it["reference"])]
                if k < right:
                    out.append(_judgement(dict(row["checks"])))
                else:  # every check and the verdict the other way
                    out.append(
                        {
                            "verdict": 1 - row["label"],
                            "checks": {c: not v for c, v in row["checks"].items()},
                            "reason": "",
                            "raw": "",
                        }
                    )
            return out

        return fake

    monkeypatch.setattr("ipa_worker.models.engines.Engines.hf_role", lambda self, spec, cfg, stats=None: object())
    trained = []
    monkeypatch.setattr(train, "_dpo", lambda *a, **kw: trained.append(1) or {"output": None, "metrics": {}})
    base = dict(
        inputs={"pairs": [], "feedback_pairs": []},
        data=premise_run["data"],
        verifier={"gate": {"enabled": True, "min_accuracy": 0.8}},
    )

    monkeypatch.setattr(verifier_gate, "model_verify", verifier(7))  # 7 of 10 right: below 80 %
    with pytest.raises(verifier_gate.VerifierBelowGate) as err:
        train.run(make_payload("train", premise_run["run"], **base), StageContext())
    assert "round 1 stopped before training" in str(err.value) and "accuracy 70.0 % on 10 labelled rows" in str(
        err.value
    )
    assert "per check: entailed" in str(err.value)
    assert not trained

    monkeypatch.setattr(verifier_gate, "model_verify", verifier(9))
    m = train.run(make_payload("train", premise_run["run"] / "b", **base), StageContext())["metrics"]
    assert m["gate_accuracy"] == 0.9 and m["gate_n"] == 10 and 0.9 <= m["gate_entailed"] <= 1.0
    assert trained
