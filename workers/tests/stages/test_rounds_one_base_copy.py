"""Three rounds on the hf backend: every generating stage of every round (sample, the model judge,
revise, eval) runs on one copy of the base weights, its roles as adapters on it.

Copies are counted in memory (`models.residency`: distinct storages holding the base's token
embedding), not in any registry. Slow (687 s once, on 2 shared cores at load average 11-16):
the issue's acceptance test (issue 22); the vLLM twin is in workers/tests_vllm.
"""

from __future__ import annotations

from ipa_worker.models.engines import Engines
from ipa_worker.models.residency import resident_copies
from three_rounds import run_rounds


def test_three_rounds_hold_one_copy_of_the_base(tiny_model_dir, tmp_path, engines):
    engines.clear()  # the session's shared engine: this test counts every copy in the process
    engines = Engines()
    seen: list[tuple] = []

    def check(stage: str, r: int, result: dict) -> None:
        adapters = tuple(engines.current.adapter_names()) if engines.current is not None else ()
        seen.append((stage, r, result["metrics"]["engine"], resident_copies(tiny_model_dir), len(adapters)))

    done = run_rounds(tiny_model_dir, tmp_path, backend="hf", engines=engines, check=check)
    assert [s[:2] for s in seen] == [("eval", 0)] + [
        (st, r) for r in (1, 2, 3) for st in ("sample", "verify", "revise", "eval")
    ]
    assert all(engine == "hf" and copies == 1 for _, _, engine, copies, _ in seen), seen
    # From round 2 on the policy and the reviser are adapters on that one base (both loaded by then).
    assert max(n for *_, n in seen) >= 2
    trained = [d for d in done if d["stage"] == "train"]
    assert [d["metrics"]["steps"] > 0 and d["metrics"]["reviser_steps"] > 0 for d in trained] == [True] * 3
    # Every generating stage's done record names its engine and what it generated.
    for d in done:
        if d["stage"] in ("sample", "revise", "eval") or (d["stage"] == "verify" and d["metrics"]["kind"] == "model"):
            assert (
                d["metrics"]["engine"] == "hf"
                and d["metrics"]["generated_tokens"] > 0
                and d["metrics"]["generation_s"] > 0
            ), d["stage"]
    engines.clear()
    assert resident_copies(tiny_model_dir) == 0
