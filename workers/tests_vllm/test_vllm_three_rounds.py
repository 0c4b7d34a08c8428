"""Three rounds on the vllm backend: every generating stage of every round runs on one vLLM
engine, built once for the run, holding one copy of the base weights; its roles are LoRA
requests on it. The train stages run in the main environment's Python (.venv, which has TRL), as
a train worker would; the hf twin is workers/tests/stages/test_rounds_one_base_copy.py.

Copies are counted in memory in both processes the engine spans: this one (no copy: nothing but
the engine generates) and vLLM's engine process (`LLM.apply_model`)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ipa_worker.models.residency import copies_in_engine_process, resident_copies
from three_rounds import run_rounds

MAIN_PYTHON = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"


def test_three_rounds_on_one_engine_with_one_copy_of_the_base(tiny_model_dir, tmp_path, vllm_engines):
    assert MAIN_PYTHON.exists(), "the train stages run in the main environment: make setup-python first"
    # Runs last (file order): the run asks for an engine of its own settings, which replaces the one the other tests shared.
    seen: list[tuple] = []

    def check(stage: str, r: int, result: dict) -> None:
        engine = vllm_engines.current
        ((pid, inside),) = engine.llm.apply_model(functools.partial(copies_in_engine_process, tiny_model_dir))
        here = resident_copies(tiny_model_dir)
        seen.append((stage, r, result["metrics"]["engine"], id(engine), here + (inside if pid != os.getpid() else 0)))

    done = run_rounds(
        tiny_model_dir, tmp_path, backend="vllm", engines=vllm_engines, check=check, train_python=str(MAIN_PYTHON)
    )
    assert [s[:2] for s in seen] == [("eval", 0)] + [
        (st, r) for r in (1, 2, 3) for st in ("sample", "verify", "revise", "eval")
    ]
    assert all(engine == "vllm" and copies == 1 for _, _, engine, _, copies in seen), seen
    assert len({s[3] for s in seen}) == 1  # one engine served the whole run: limits from the run, not the call
    assert [d["metrics"]["steps"] > 0 and d["metrics"]["reviser_steps"] > 0 for d in done if d["stage"] == "train"] == [
        True
    ] * 3
    # From round 2 on the generator and the reviser generate through their adapters.
    later = [d for d in done if d["round"] > 1 and d["stage"] in ("sample", "revise")]
    assert later and all(
        d["payload"]["models"]["generator" if d["stage"] == "sample" else "reviser"]["adapter"] for d in later
    )
