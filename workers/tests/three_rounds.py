"""The paper's three rounds on a two-seed shard, stage by stage, as a run's jobs would go: shared
by the residency tests of both backends (workers/tests and workers/tests_vllm).

Each round: sample (generator) → verify with the model judge (verifier) and with the rule
matcher → revise (reviser, reference-guided in round 3) → verify_revisions → pair → train → eval
(the trained policy). The chain's verdicts are the rule's: a random tiny model never states its
four checks, so the judge's verdicts are all unjudged; the judge still runs, on the base role
beside the round's adapters. One refinement is set to its seed's reference after `revise` (as in
test_method_chain), so every round has a pair and a feedback pair and trains both adapters: from
round 2 on the generator and the reviser are LoRA adapters on the engine's one base.

Train runs in a fresh process of `train_python`, as the worker agent runs it (and because the
vLLM environment has no TRL); every other stage runs here, on `engines`, and `check(stage,
round, result)` is called after each generating one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
from ipa_worker.stages import eval as eval_stage
from ipa_worker.stages import pair, revise, sample, verify, verify_revisions
from method_shard import SMALL, shard
from payloads import build_payload

GENERATING = ("sample", "verify", "revise", "eval")
_TRAIN = "import json, sys; from ipa_worker.stages import train; from ipa_worker.context import StageContext; print(json.dumps(train.run(json.load(open(sys.argv[1])), StageContext())))"


def _train(payload: dict[str, Any], python: str, work: Path) -> dict[str, Any]:
    path = work / f"train-r{payload['round']}.json"
    path.write_text(json.dumps(payload))
    env_root = str(Path(__file__).resolve().parents[1])  # workers/: the ipa_worker package
    env = {**os.environ, "PYTHONPATH": env_root, "OMP_NUM_THREADS": "2"}
    log = path.with_suffix(".log")
    with log.open("w") as err:
        out = subprocess.run(
            [python, "-c", _TRAIN, str(path)],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            timeout=1800,
        )
    assert out.returncode == 0, log.read_text()[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_rounds(
    base: str,
    work: Path,
    *,
    backend: str,
    engines: Any,
    check: Callable[[str, int, dict[str, Any]], None],
    train_python: str = sys.executable,
) -> list[dict[str, Any]]:
    """Three rounds in `work/run`; returns each stage's result, in order, with its stage and round."""
    run = work / "run"
    seeds_path, _ = shard(run)
    seeds = read_jsonl(seeds_path)
    atomic_write_jsonl(run / "data" / "seeds.jsonl", seeds)  # what `prepare` writes: the run's seed data
    bench = work / "bench.jsonl"
    bench.write_text(
        "".join(
            json.dumps(
                {
                    "id": s["id"],
                    "images": s["images"],
                    "question": s["instruction"],
                    "answer": s["reference"],
                    "metric": "exact",
                }
            )
            + "\n"
            for s in seeds
        )
    )
    over = SMALL | {
        "generation": {"backend": backend},
        "sampling": {"batch_size": 4, "num_normal": 2, "num_contrastive": 1, "max_new_tokens": 4},
        "eval": {"benchmarks": [{"name": "seeds", "path": str(bench)}], "max_new_tokens": 4, "batch_size": 4},
        "verifier": {"kind": "rule", "max_new_tokens": 8},
    }
    plain = {"base": base, "adapter": None}
    policy, reviser = dict(plain), dict(plain)
    done: list[dict[str, Any]] = []

    def stage(
        module,
        name: str,
        r: int,
        inputs: dict[str, Any],
        *,
        generating: bool = True,
        outputs: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        models = {"generator": policy, "reviser": reviser, "verifier": plain}
        p = build_payload(
            base,
            name,
            run,
            round=r,
            inputs=inputs,
            outputs=outputs,
            models=models,
            options={"reference_guided": r == 3},
            **(over | extra),
        )
        result = module.run(p, StageContext(models=engines))
        done.append({"stage": name, "round": r, "payload": p, **result})
        if generating:
            check(name, r, result)
        return result

    stage(eval_stage, "eval", 0, {})
    for r in (1, 2, 3):
        rd = run / f"round-{r}"
        if r > 1:
            atomic_write_jsonl(rd / "seeds" / "shard-000.jsonl", seeds)
        seeds_r = str(rd / "seeds" / "shard-000.jsonl")
        responses = stage(sample, "sample", r, {"seeds": seeds_r})["outputs"]["responses"]["path"]
        judge_out = {"verdicts": str(work / "judge" / f"round-{r}.jsonl")}
        stage(
            verify,
            "verify",
            r,
            {"seeds": seeds_r, "responses": responses},
            outputs=judge_out,
            verifier={"kind": "model", "max_new_tokens": 8},
        )
        verdicts = stage(verify, "verify", r, {"seeds": seeds_r, "responses": responses}, generating=False)["outputs"][
            "verdicts"
        ]["path"]
        revisions = stage(revise, "revise", r, {"seeds": seeds_r, "responses": responses, "verdicts": verdicts})[
            "outputs"
        ]["revisions"]["path"]
        rows = read_jsonl(revisions)
        assert len(rows) >= 2 and rows[0]["source_sample_id"] == rows[1]["source_sample_id"]
        reference = {s["id"]: s["reference"] for s in seeds}[rows[0]["seed_id"]]
        rows[0].update(refined=reference, feedback="Name the colour of the square.")
        rows[1].update(refined="no idea", feedback="Looks fine to me.")
        atomic_write_jsonl(revisions, rows)
        rv = stage(
            verify_revisions, "verify_revisions", r, {"seeds": seeds_r, "revisions": revisions}, generating=False
        )["outputs"]["revision_verdicts"]["path"]
        paired = stage(
            pair,
            "pair",
            r,
            {
                "seeds": seeds_r,
                "responses": responses,
                "verdicts": verdicts,
                "revisions": revisions,
                "revision_verdicts": rv,
            },
            generating=False,
        )
        assert paired["metrics"]["pairs"] >= 1 and paired["metrics"]["feedback_pairs"] >= 1
        models = {"generator": plain, "reviser": plain, "verifier": plain}
        tp = build_payload(
            base,
            "train",
            run,
            round=r,
            inputs={
                "pairs": [paired["outputs"]["pairs"]["path"]],
                "feedback_pairs": [paired["outputs"]["feedback_pairs"]["path"]],
            },
            models=models,
            **over,
        )
        trained = _train(tp, train_python, work)
        done.append({"stage": "train", "round": r, "payload": tp, **trained})
        policy = {"base": base, "adapter": trained["outputs"]["policy"]["path"]}
        reviser = {"base": base, "adapter": trained["outputs"]["reviser"]["path"]}
        stage(eval_stage, "eval", r, {})
    return done
