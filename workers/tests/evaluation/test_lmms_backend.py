"""lmms-eval through the real eval stage, on the tiny model: a local task and group built from the
synthetic held-out split, evaluated on base + adapter next to the built-in evaluator; and a Hub
task on a machine without internet, which must fail with lmms-eval's reason and a hint.

Each lmms-eval run costs about 20 s of imports in its child process, so the module runs both
stage calls once, at the same time, and the tests read what they left.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from ipa_worker.context import StageContext
from ipa_worker.contract import stage_outputs
from ipa_worker.contract.recipe_types import Recipe
from ipa_worker.data.images import load_image
from ipa_worker.data.jsonl_io import read_jsonl
from ipa_worker.errors import BadInput
from ipa_worker.models.engines import Engines
from ipa_worker.models.generation import generate
from ipa_worker.models.messages import user_messages
from ipa_worker.stages import eval as eval_stage
from ipa_worker.tools.lmms_task import write_group, write_task
from ipa_worker.training.dpo_trainer import save_untrained
from payloads import deep_merge, default_recipe, fill_defaults

MODEL = {"device": "cpu", "min_pixels": 3136, "max_pixels": 3136}
MAX_NEW_TOKENS = 8


def _payload(run_dir: Path, base: str, adapter: str | None, eval_cfg: dict[str, Any]) -> dict[str, Any]:
    recipe = fill_defaults(deep_merge(default_recipe(base), {"model": MODEL, "eval": eval_cfg}))
    spec = {"base": base, "adapter": adapter}
    return {
        "run_id": "test-run", "run_dir": str(run_dir), "job_id": "test-run.r1.eval.s000", "round": 1, "stage": "eval", "shard": 0,
        "attempt": 1, "recipe": recipe, "inputs": {},
        "outputs": {k: str(run_dir / v) for k, v in stage_outputs("eval", 1, 0).items()},
        "models": {"generator": spec, "reviser": dict(spec), "verifier": dict(spec)},
        "options": {"contrastive": False, "revision": False, "reference_guided": False, "batch_scale": 1.0},
    }  # fmt: skip


def _first_words(lm, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The first word of the model's greedy answer to each row, by id."""
    prompts = [
        {
            "images": [load_image(p, max_bytes=1 << 20, max_side=512) for p in r["images"]],
            "messages": user_messages(r["question"]),
        }
        for r in rows
    ]
    answers = generate(lm, prompts, temperature=0.0, max_new_tokens=MAX_NEW_TOKENS, seed=0, batch_size=12)
    return {r["id"]: (a["text"].split() or ["?"])[0] for r, a in zip(rows, answers)}


def _benchmarks(tmp: Path, synth_dir: str, pool: Engines, base: str) -> dict[str, str]:
    """Two local benchmarks of 6 held-out rows each. A random model answers nothing right, so some
    rows take the first word of its own answer (metric `contains`): the scores are not all zero."""
    rows = read_jsonl(Path(synth_dir) / "heldout.jsonl")
    for r in rows:
        r["images"] = [str(Path(synth_dir) / p) for p in r["images"]]
    lm = pool.hf_role(
        {"base": base, "adapter": None}, fill_defaults(deep_merge(default_recipe(base), {"model": MODEL}))["model"]
    )
    first = _first_words(lm, rows)
    files = {}
    for name, part, own in (("a", rows[:6], {0, 2, 4}), ("b", rows[6:], {0})):
        for i, r in enumerate(part):
            if i in own:
                r["answer"], r["metric"] = first[r["id"]], "contains"
        files[name] = str(tmp / f"{name}.jsonl")
        Path(files[name]).write_text("".join(json.dumps(r) + "\n" for r in part))
    return files


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir, tiny_synth_dir):
    tmp = tmp_path_factory.mktemp("lmms")
    pool = Engines()
    files = _benchmarks(tmp, tiny_synth_dir, pool, tiny_model_dir)
    tasks = tmp / "tasks"
    for name in ("a", "b"):
        write_task(str(tasks), f"ipa_{name}", files[name], max_new_tokens=MAX_NEW_TOKENS)
    write_group(str(tasks), "ipa_ab", ["ipa_a", "ipa_b"])
    defaults = fill_defaults(default_recipe(tiny_model_dir))
    settings = Recipe.from_dict(defaults)
    adapter = save_untrained(
        {"base": tiny_model_dir, "adapter": None},
        str(tmp / "policy"),
        settings.training,
        fill_defaults(deep_merge(defaults, {"model": MODEL}))["model"],
    )["path"]

    local = _payload(tmp / "run-local", tiny_model_dir, adapter, {
        "benchmarks": [{"name": "local_a", "path": files["a"]}, {"name": "local_b", "path": files["b"]}],
        "max_new_tokens": MAX_NEW_TOKENS, "batch_size": 4,
        "lmms_eval": {"enabled": True, "tasks": ["ipa_ab", "ipa_a"], "include_path": str(tasks), "batch_size": 4},
    })  # fmt: skip
    hub = _payload(
        tmp / "run-hub", tiny_model_dir, None, {"lmms_eval": {"enabled": True, "tasks": ["pope"], "limit": 2}}
    )
    out: dict[str, Any] = {"local": local, "hub": hub}

    def call(name: str, payload: dict[str, Any], models: Any) -> None:
        messages: list[dict[str, Any]] = []
        out[f"{name}_messages"] = messages
        try:
            out[f"{name}_result"] = eval_stage.run(payload, StageContext(emit=messages.append, models=models))
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out[f"{name}_error"] = exc

    # No internet here in any case; HF_HOME empty so nothing is cached. Children use one thread each.
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp / "hf-home"), "OMP_NUM_THREADS": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        threads = [
            threading.Thread(target=call, args=("hub", hub, None)),
            threading.Thread(target=call, args=("local", local, pool)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    pool.clear()
    return out


def test_local_task_and_group_through_the_stage_equal_lmms_evals_own_file(runs):
    assert "local_error" not in runs, runs.get("local_error")
    payload, result = runs["local"], runs["local_result"]
    doc = json.loads(Path(payload["outputs"]["eval"]).read_text())
    results_file = Path(doc["lmms_eval"]["results_file"])
    assert results_file.is_relative_to(
        Path(payload["outputs"]["lmms_eval"]) / "results"
    ) and results_file.name.endswith("_results.json")
    own = json.loads(results_file.read_text())
    # Every number in eval/round-1.json is the one lmms-eval wrote, under its metric name.
    assert doc["by_benchmark"]["ipa_ab"] == own["results"]["ipa_ab"]["accuracy,none"]
    assert doc["by_benchmark"]["ipa_a"] == own["results"]["ipa_a"]["accuracy,none"]
    assert doc["benchmarks"]["ipa_ab"]["kind"] == "group" and doc["benchmarks"]["ipa_ab"]["metric"] == "accuracy"
    assert doc["benchmarks"]["ipa_ab"]["subtasks"]["ipa_b"]["value"] == own["results"]["ipa_b"]["accuracy,none"]
    assert doc["benchmarks"]["ipa_ab"]["n"] == 12 and doc["benchmarks"]["ipa_a"]["kind"] == "task"
    assert doc["by_benchmark"]["ipa_ab"] > 0  # the rows scored on the model's own first word
    # The built-in evaluator ran beside it on the same rows; its numbers keep their own entries.
    assert doc["benchmarks"]["local_a"]["backend"] == "builtin" and doc["overall"] is not None and doc["n"] == 12
    assert result["outputs"]["lmms_eval"]["path"] == str(results_file)
    # lmms-eval loaded the adapter folder (through the view), not a merged copy.
    assert own["config"]["model_args"].startswith(f"pretrained={Path(payload['outputs']['lmms_eval']) / 'model'},")
    view = Path(payload["outputs"]["lmms_eval"]) / "model"
    assert (view / "adapter_config.json").is_file() and not (view / "model.safetensors").exists()


def test_local_run_reports_progress_and_forwards_lmms_evals_log(runs):
    messages = runs["local_messages"]
    progress = [m for m in messages if m["type"] == "progress" and m["metrics"].get("phase") == "Model Responding"]
    assert progress and progress[-1]["done"] == progress[-1]["total"] == 18  # 12 docs of the group + 6 of ipa_a
    logs = [m for m in messages if m["type"] == "log" and m["fields"].get("source") == "lmms-eval"]
    assert any("Selected Tasks" in m["msg"] for m in logs) and any(m["msg"] == "lmms-eval finished" for m in logs)
    assert any(m["fields"].get("at", "").startswith("lmms_eval.") for m in logs)


def test_a_hub_task_offline_fails_with_the_reason_and_a_hint_not_a_traceback(runs):
    err = runs.get("hub_error")
    assert isinstance(err, BadInput), err
    text = str(err)
    assert "lmms-lab-encoder/POPE" in text and "not reachable here (OfflineModeIsEnabled)" in text
    assert "HF_HOME" in text and "include_path" in text and "Traceback" not in text
    assert not Path(runs["hub"]["outputs"]["eval"]).exists()  # nothing half-written
    assert any(
        m["type"] == "log" and m["level"] == "error" and m["fields"].get("kind") == "dataset_unreachable"
        for m in runs["hub_messages"]
    )
