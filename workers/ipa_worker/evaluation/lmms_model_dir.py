"""The folder lmms-eval loads as `pretrained`: the round's policy as it is, seen through links.

lmms-eval's Qwen2-VL backends call `from_pretrained(pretrained)` for the model, `AutoProcessor`
and `AutoTokenizer`. transformers loads a PEFT adapter folder directly (it reads
`adapter_config.json`, loads `base_model_name_or_path` and attaches the adapter), so no merged
copy is written. The view links every file of the policy folder (adapter or full checkpoint) and
rewrites three small files only where needed:
- `adapter_config.json`: `base_model_name_or_path` pointed at the spec's base, which is where the
  run's base really is (a run directory moved since training keeps working);
- `tokenizer_config.json`: `padding_side: left`; the backend batches prompts with the saved
  padding side and has no option for it, and right padding corrupts batched generation;
- `processor_config.json`: a `video_processor` entry, so `AutoProcessor` opens checkpoints saved
  before every checkpoint carried one (models/processor.py).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..models.processor import PROCESSOR_CONFIG, add_video_processor_entry

ADAPTER_CONFIG = "adapter_config.json"
TOKENIZER_CONFIG = "tokenizer_config.json"


def source_folder(spec: dict[str, Any]) -> Path:
    """The folder that holds the policy: its adapter when it has one, else its base checkpoint."""
    folder = Path(spec["adapter"] or spec["base"])
    marker = ADAPTER_CONFIG if spec["adapter"] else "config.json"
    if not (folder / marker).is_file():
        raise BadInput(f"cannot evaluate {folder}: it has no {marker}")
    if not (folder / TOKENIZER_CONFIG).is_file():
        raise BadInput(
            f"cannot evaluate {folder}: it has no {TOKENIZER_CONFIG} (lmms-eval loads the tokenizer and processor from it)"
        )
    return folder


def _rewrite(path: Path, change) -> None:
    """Replace the link at `path` by a real file holding the changed JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if path.is_symlink():
        path.unlink()
    path.write_text(json.dumps(change(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def prepare_model_dir(spec: dict[str, Any], view: str | Path) -> Path:
    """Builds the view of `spec` (`{base, adapter}`) at `view` (replaced if present); returns it."""
    source = source_folder(spec)
    view = Path(view)
    shutil.rmtree(view, ignore_errors=True)
    view.mkdir(parents=True)
    for item in source.iterdir():
        if not item.name.startswith("."):
            os.symlink(item.resolve(), view / item.name)
    if spec["adapter"]:
        base = str(Path(spec["base"]).resolve())
        _rewrite(view / ADAPTER_CONFIG, lambda cfg: cfg | {"base_model_name_or_path": base})
    _rewrite(view / TOKENIZER_CONFIG, lambda cfg: cfg | {"padding_side": "left"})
    processor_config = view / PROCESSOR_CONFIG
    if processor_config.is_symlink():
        target = processor_config.resolve()
        processor_config.unlink()
        shutil.copyfile(target, processor_config)
    add_video_processor_entry(view)
    return view
