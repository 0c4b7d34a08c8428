"""The parts of the lmms-eval backend that need no lmms-eval run: results file, command line,
output stream, failure explanations, the model folder it loads, and the local-task writer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ipa_worker.errors import BadInput
from ipa_worker.evaluation.lmms_command import lmms_eval_command, model_args
from ipa_worker.evaluation.lmms_failures import explain, failed_reason
from ipa_worker.evaluation.lmms_model_dir import prepare_model_dir
from ipa_worker.evaluation.lmms_results import metric_values, parse_results
from ipa_worker.evaluation.lmms_stream import parse_progress, parse_stdout_line, split_segments
from ipa_worker.evaluation.lmms_task_hooks import doc_to_text, process_results
from ipa_worker.tools.lmms_task import main as lmms_task_main
from ipa_worker.tools.lmms_task import write_group, write_task

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = FIXTURES / "lmms_eval_results.json"

# Lines as lmms-eval 0.7.3 printed them (stdout is coloured even when piped).
OFFLINE_STDOUT = (
    "\x1b[32m2026-11-30 02:25:03\x1b[0m | \x1b[31m\x1b[1mERROR   \x1b[0m | \x1b[36mlmms_eval.__main__\x1b[0m:\x1b[36mcli_evaluate\x1b[0m:"
    "\x1b[36m614\x1b[0m - \x1b[31m\x1b[1mError during evaluation: RetryError[<Future at 0x7f7344372a90 state=finished raised "
    "ConnectionError>]. Please set `--verbosity=DEBUG` to get more information.\x1b[0m"
)
OFFLINE_STDERR = (
    "    raise ConnectionError(f\"Couldn't reach '{path}' on the Hub ({e.__class__.__name__})\") from e\n"
    "ConnectionError: Couldn't reach 'lmms-lab-encoder/POPE' on the Hub (OfflineModeIsEnabled)\n"
    "tenacity.RetryError: RetryError[<Future at 0x7f7344372a90 state=finished raised ConnectionError>]"
)
UNKNOWN_TASK_STDOUT = (
    "2026-11-30 02:24:04 | ERROR    | lmms_eval.__main__:cli_evaluate:614 - Error during evaluation: Tasks not found: "
    "no_such_task. Try `lmms-eval --tasks {list_groups,list_subtasks,list_tags,list}` to list out all available names"
)


def test_results_tasks_groups_and_headline_metrics():
    parsed = parse_results(RESULTS, ["pope", "mme", "mmstar", "ocrbench", "ipa_ab", "mmmu_like"], {"mmstar": "average"})
    by, bench = parsed["by_benchmark"], parsed["benchmarks"]
    # The number of each requested name is the one in the file, under its first metric unless chosen.
    assert by["pope"] == 0.8712 and bench["pope"]["metric"] == "pope_accuracy" and bench["pope"]["n"] == 9000
    assert bench["pope"]["metrics"] == {"pope_accuracy": 0.8712, "pope_precision": 0.0, "pope_f1_score": 0.8655}
    assert by["mme"] == 1687.25 and bench["mme"]["metric"] == "mme_perception_score"
    assert by["mmstar"] == 0.617 and bench["mmstar"]["metric"] == "average" and bench["mmstar"]["higher_is_better"] is True
    assert by["ocrbench"] == 0.873 and bench["ocrbench"]["metric"] == "ocrbench_accuracy,strict" and bench["ocrbench"]["n"] == 200
    # A group: its own aggregate, n summed over its tasks, the tasks kept as detail.
    group = bench["ipa_ab"]
    assert by["ipa_ab"] == 0.25 and group["kind"] == "group" and group["n"] == 8
    assert group["subtasks"]["ipa_a"]["value"] == 0.5 and group["subtasks"]["ipa_b"]["n"] == 2
    assert "ipa_a" not in by  # a subtask of an aggregated group is not a benchmark of its own
    # A group without an aggregate gives way to its tasks.
    assert "mmmu_like" not in by and by["part_1"] == 0.4 and by["part_2"] == 0.6
    assert bench["mmmu_like"]["value"] is None and bench["part_1"]["metric"] == "acc"
    assert parsed["seconds"] == 16.558 and parsed["warnings"] == []


def test_results_warn_on_an_unknown_chosen_metric_and_refuse_missing_tasks(tmp_path):
    parsed = parse_results(RESULTS, ["pope"], {"pope": "pope_f2"})
    assert parsed["by_benchmark"]["pope"] == 0.8712 and "pope_f2" in parsed["warnings"][0]
    with pytest.raises(BadInput, match="no entry for mathvista"):
        parse_results(RESULTS, ["pope", "mathvista"], {})
    (tmp_path / "bad.json").write_text('{"not": "results"}')
    with pytest.raises(BadInput, match="not an lmms-eval results file"):
        parse_results(tmp_path / "bad.json", ["pope"], {})


def test_metric_values_drop_stderr_aliases_and_text():
    entry = {"alias": " - a", "acc,none": 1, "acc_stderr,none": 0.1, "acc_stderr_clt,none": 0.1, "f1,flex": 0.5, "x,none": "N/A", "flag,none": True}
    assert metric_values(entry) == {"acc": 1.0, "f1,flex": 0.5}


def test_command_line():
    lmms = {"tasks": ["pope", "mme"], "model": "qwen2_vl", "batch_size": 4, "limit": 8, "num_fewshot": None, "include_path": "/tasks"}
    cmd = lmms_eval_command(lmms, "/run/eval/lmms-eval/round-1/model", "/out", device="cpu", min_pixels=3136, max_pixels=3136, python="/py")
    assert cmd[:5] == ["/py", "-m", "lmms_eval", "eval", "--model"]
    assert cmd[cmd.index("--model_args") + 1] == "pretrained=/run/eval/lmms-eval/round-1/model,device=cpu,device_map=cpu,min_pixels=3136,max_pixels=3136"
    assert cmd[cmd.index("--tasks") + 1] == "pope,mme" and cmd[cmd.index("--batch_size") + 1] == "4"
    assert cmd[cmd.index("--limit") + 1] == "8" and cmd[cmd.index("--include_path") + 1] == "/tasks"
    assert "--num_fewshot" not in cmd and "--log_samples" in cmd
    assert model_args("qwen2_5_vl", "/m", device="cuda", min_pixels=1, max_pixels=2, flash_attention=True).endswith("attn_implementation=flash_attention_2")
    assert model_args("qwen2_vl", "/m", device="cuda", min_pixels=1, max_pixels=2, flash_attention=True).endswith("use_flash_attention_2=True")
    with pytest.raises(BadInput, match="split on"):
        model_args("qwen2_vl", "/a,b", device="cpu", min_pixels=1, max_pixels=2, flash_attention=False)
    with pytest.raises(BadInput, match="tasks is empty"):
        lmms_eval_command(lmms | {"tasks": []}, "/m", "/out", device="cpu", min_pixels=1, max_pixels=2)


def test_stream_lines_and_progress():
    line = parse_stdout_line(OFFLINE_STDOUT)
    assert line.level == "error" and line.source == "lmms_eval.__main__:cli_evaluate:614" and line.msg.startswith("Error during evaluation: RetryError")
    table = parse_stdout_line("|ipa_ab  |none  |      |accuracy|↑  |    0|±  |     0|N/A       |")
    assert table.level == "info" and table.source == "stdout"
    assert parse_stdout_line("   \n") is None
    bar = "Model Responding:  42%|████▏     | 5/12 [00:06<00:07,  1.02s/it][transformers] A decoder-only architecture is being used"
    assert parse_progress(bar) == parse_progress("\x1b[A" + bar)
    p = parse_progress(bar)
    assert (p.desc, p.done, p.total) == ("Model Responding", 5, 12)
    assert parse_progress("  0%|          | 0/6 [00:00<?, ?it/s]").desc == ""
    assert parse_progress("Traceback (most recent call last):") is None
    segments, rest = split_segments("a: 10%|#| 1/10\rb: 20%|#| 2/10\rTraceback\nhalf")
    assert segments == ["a: 10%|#| 1/10", "b: 20%|#| 2/10", "Traceback"] and rest == "half"


def test_failures_are_explained_with_a_hint():
    offline = explain(OFFLINE_STDOUT, OFFLINE_STDERR, 0)
    assert offline.kind == "dataset_unreachable" and offline.bad_input
    assert "lmms-lab-encoder/POPE" in offline.message and "OfflineModeIsEnabled" in offline.message
    assert "HF_HOME" in offline.hint and "include_path" in offline.hint
    unknown = explain(UNKNOWN_TASK_STDOUT, "ValueError: Tasks not found: no_such_task. Try ...", 0)
    assert unknown.kind == "unknown_task" and unknown.message == "unknown task or group: no_such_task"
    assert failed_reason(UNKNOWN_TASK_STDOUT).startswith("Tasks not found: no_such_task")
    assert explain("", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate", 1).kind == "out_of_memory"
    assert explain("", "ModuleNotFoundError: No module named 'filelock._api'", 0).kind == "dependency_conflict"
    other = explain("", "Traceback (most recent call last):\nRuntimeError: something new\n", 1)
    assert other.kind == "internal" and other.message == "RuntimeError: something new" and not other.bad_input
    assert explain("", "", 0).message == "exit code 0 and no results file"


def _adapter(tmp_path: Path, base: str) -> Path:
    adapter = tmp_path / "policy"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/moved/away", "peft_type": "LORA"}))
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    for name in ("tokenizer_config.json", "tokenizer.json", "processor_config.json", "chat_template.jinja"):
        shutil.copy(Path(base) / name, adapter / name)
    return adapter


def test_model_folder_for_an_adapter_links_weights_and_fixes_three_configs(tmp_path, tiny_model_dir):
    adapter = _adapter(tmp_path, tiny_model_dir)
    cfg = json.loads((adapter / "processor_config.json").read_text())
    cfg.pop("video_processor", None)  # as saved before checkpoints carried the entry
    (adapter / "processor_config.json").write_text(json.dumps(cfg))
    view = prepare_model_dir({"base": tiny_model_dir, "adapter": str(adapter)}, tmp_path / "view")
    assert (view / "adapter_model.safetensors").is_symlink() and (view / "adapter_model.safetensors").resolve() == adapter / "adapter_model.safetensors"
    assert json.loads((view / "adapter_config.json").read_text())["base_model_name_or_path"] == str(Path(tiny_model_dir).resolve())
    assert json.loads((view / "tokenizer_config.json").read_text())["padding_side"] == "left"
    assert json.loads((view / "processor_config.json").read_text())["video_processor"]["video_processor_type"] == "Qwen2VLVideoProcessor"
    # The policy's own folder is untouched.
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == "/moved/away"
    assert "video_processor" not in json.loads((adapter / "processor_config.json").read_text())
    assert "padding_side" not in json.loads((adapter / "tokenizer_config.json").read_text())


def test_model_folder_for_a_full_checkpoint_loads_with_the_auto_classes(tmp_path, tiny_model_dir):
    from transformers import AutoProcessor, AutoTokenizer

    view = prepare_model_dir({"base": tiny_model_dir, "adapter": None}, tmp_path / "view")
    assert (view / "model.safetensors").is_symlink() and not (view / "adapter_config.json").exists()
    assert AutoTokenizer.from_pretrained(str(view)).padding_side == "left"
    assert type(AutoProcessor.from_pretrained(str(view))).__name__ == "Qwen2VLProcessor"
    with pytest.raises(BadInput, match="has no adapter_config.json"):
        prepare_model_dir({"base": tiny_model_dir, "adapter": str(tmp_path)}, tmp_path / "view2")


def test_local_task_writer_and_its_scoring(tmp_path, tiny_synth_dir):
    from datasets import load_dataset

    rec = write_task(str(tmp_path / "tasks"), "ipa_local", str(Path(tiny_synth_dir) / "heldout.jsonl"), max_rows=5, max_new_tokens=4)
    assert rec["rows"] == 5
    yaml = Path(rec["yaml"]).read_text()
    assert "task: ipa_local" in yaml and f'test: "{rec["data"]}"' in yaml and "max_new_tokens: 4" in yaml
    assert "process_results: !function ipa_worker.evaluation.lmms_task_hooks.process_results" in yaml
    doc = load_dataset("parquet", data_files={"test": rec["data"]}, split="test")[0]  # as lmms-eval loads it
    assert doc["images"][0].size == (56, 56) and isinstance(doc["answers"], list)
    assert process_results(doc, [doc["answers"][0]]) == {"accuracy": 1.0}
    assert process_results(doc | {"metric": "contains"}, ["zzz"]) == {"accuracy": 0.0}
    assert doc_to_text(doc, {"pre_prompt": "Q: ", "post_prompt": "!"}) == f"Q: {doc['question']}!"
    group = Path(write_group(str(tmp_path / "tasks"), "ipa_group", ["ipa_local"])).read_text()
    assert "group: ipa_group" in group and "  - ipa_local" in group and "weight_by_size: true" in group
    assert lmms_task_main([str(tmp_path / "t2"), f"bad-name={tiny_synth_dir}/heldout.jsonl"]) == 3
