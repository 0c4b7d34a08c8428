"""Turn local benchmarks (the built-in evaluator's JSONL format) into an lmms-eval task folder.

For each `NAME=BENCH.jsonl` it writes `OUT/NAME/NAME.yaml` and `OUT/NAME/test.parquet` (images
embedded, so the folder stands alone); with `--group G` also `OUT/G.yaml`, a group over them
whose score is the mean over all their items. Point `eval.lmms_eval.include_path` at OUT and
add the names to `eval.lmms_eval.tasks`. Scoring is the built-in one (exact | yesno | contains |
anls per row, see evaluation/lmms_task_hooks.py); task names must not clash with lmms-eval's own
(a built-in task of the same name wins).

CLI: python -m ipa_worker.tools.lmms_task OUT NAME=BENCH.jsonl [NAME=BENCH.jsonl ...]
        [--group G] [--max-rows N] [--max-new-tokens N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..evaluation.benchmarks import Benchmark, load_benchmark

HOOKS = "ipa_worker.evaluation.lmms_task_hooks"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DATA_FILE = "test.parquet"


def _check_name(name: str) -> str:
    if not NAME.match(name):
        raise BadInput(f"lmms-eval task name {name!r}: use letters, digits and '_' (starting with a letter)")
    return name


def _rows(bench: Benchmark) -> list[dict[str, Any]]:
    rows, bad = load_benchmark(bench)
    if bad:
        raise BadInput(f"benchmark {bench.name}: {len(bad)} bad row(s), first {bad[0]['id']}: {bad[0]['reason']}")
    if not rows:
        raise BadInput(f"benchmark {bench.name}: {bench.path} has no rows")
    return [
        {
            "id": r["id"],
            "images": r["images"],
            "question": r["question"],
            "answers": [str(a) for a in r["answer"]] if isinstance(r["answer"], list) else [str(r["answer"])],
            "metric": r["metric"],
            "task_type": r["task_type"],
        }
        for r in rows
    ]


def task_yaml(name: str, data_file: str, max_new_tokens: int) -> str:
    """The task definition (lmms-eval 0.7 task API); JSON scalars are valid YAML."""
    fn = lambda f: f"!function {HOOKS}.{f}"  # noqa: E731
    return "\n".join(
        [
            f"task: {name}",
            "dataset_path: parquet",
            "dataset_kwargs:",
            "  data_files:",
            f"    test: {json.dumps(data_file)}",
            "test_split: test",
            "output_type: generate_until",
            f"doc_to_visual: {fn('doc_to_visual')}",
            f"doc_to_text: {fn('doc_to_text')}",
            f"doc_to_target: {fn('doc_to_target')}",
            f"process_results: {fn('process_results')}",
            "generation_kwargs:",
            f"  max_new_tokens: {int(max_new_tokens)}",
            "  temperature: 0",
            "  do_sample: false",
            "metric_list:",
            "  - metric: accuracy",
            "    aggregation: mean",
            "    higher_is_better: true",
            "metadata:",
            "  version: 1.0",
            "",
        ]
    )


def group_yaml(group: str, tasks: list[str]) -> str:
    return "\n".join(
        [
            f"group: {group}",
            "task:",
            *[f"  - {t}" for t in tasks],
            "aggregate_metric_list:",
            "  - metric: accuracy",
            "    aggregation: mean",
            "    weight_by_size: true",
            "metadata:",
            "  version: 1.0",
            "",
        ]
    )


def write_task(
    out_dir: str, name: str, bench_path: str, *, max_rows: int | None = None, max_new_tokens: int = 16
) -> dict[str, Any]:
    """Writes `out_dir/name/{name.yaml, test.parquet}`; returns `{name, yaml, data, rows}`."""
    from datasets import Dataset, Image, List
    from datasets.table import embed_table_storage

    rows = _rows(Benchmark(name=_check_name(name), path=bench_path, max_rows=max_rows))
    folder = Path(out_dir).resolve() / name
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / DATA_FILE
    ds = Dataset.from_list(rows).cast_column("images", List(Image()))
    ds.with_format("arrow").map(embed_table_storage, batched=True).with_format(None).to_parquet(str(data))
    yaml = folder / f"{name}.yaml"
    yaml.write_text(task_yaml(name, str(data), max_new_tokens), encoding="utf-8")
    return {"name": name, "yaml": str(yaml), "data": str(data), "rows": len(rows)}


def write_group(out_dir: str, group: str, tasks: list[str]) -> str:
    path = Path(out_dir).resolve() / f"{_check_name(group)}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(group_yaml(group, tasks), encoding="utf-8")
    return str(path)


def _pair(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=BENCH.jsonl, got {text!r}")
    return name, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipa_worker.tools.lmms_task", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("benchmarks", nargs="+", type=_pair, metavar="NAME=BENCH.jsonl")
    parser.add_argument("--group", help="also write a group over the tasks")
    parser.add_argument("--max-rows", type=int, help="at most this many rows per benchmark")
    parser.add_argument("--max-new-tokens", type=int, default=16, help="answer budget (greedy)")
    args = parser.parse_args(argv)
    try:
        for name, path in args.benchmarks:
            rec = write_task(args.out_dir, name, path, max_rows=args.max_rows, max_new_tokens=args.max_new_tokens)
            print(f"{rec['name']}: {rec['rows']} rows -> {rec['yaml']}")
        if args.group:
            print(f"{args.group} -> {write_group(args.out_dir, args.group, [n for n, _ in args.benchmarks])}")
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
