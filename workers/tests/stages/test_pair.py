"""The pair stage without revisions."""

from ipa_worker.context import StageContext
from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
from ipa_worker.stages import pair
from method_shard import shard


def test_pair_without_revisions(tmp_path, make_payload):
    run = tmp_path / "run"
    seeds_path, resp_path = shard(run)
    verdicts = [
        {"seed_id": "s0", "sample_id": "s0/n0", "verdict": 1},
        {"seed_id": "s0", "sample_id": "s0/n2", "verdict": 0},
    ]
    vpath = run / "v.jsonl"
    atomic_write_jsonl(vpath, verdicts)
    p = make_payload(
        "pair", run, inputs={"seeds": seeds_path, "responses": resp_path, "verdicts": str(vpath), "revisions": None}
    )
    res = pair.run(p, StageContext())
    # s1 has no verdict at all: it cannot be paired, so it is carried to the next round and counted
    assert res["metrics"] == {
        **res["metrics"],
        "pairs": 1,
        "feedback_pairs": 0,
        "challenging": 1,
        "unjudged_seeds": 1,
        "solved_rate": 1.0,
    }
    assert [s["id"] for s in read_jsonl(p["outputs"]["challenging"])] == ["s1"]
