"""The local lmms-eval task writer and its scoring hooks."""

from __future__ import annotations

from pathlib import Path

from ipa_worker.evaluation.lmms_task_hooks import doc_to_text, process_results
from ipa_worker.tools.lmms_task import main as lmms_task_main
from ipa_worker.tools.lmms_task import write_group, write_task


def test_local_task_writer_and_its_scoring(tmp_path, tiny_synth_dir):
    from datasets import load_dataset

    rec = write_task(
        str(tmp_path / "tasks"), "ipa_local", str(Path(tiny_synth_dir) / "heldout.jsonl"), max_rows=5, max_new_tokens=4
    )
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
