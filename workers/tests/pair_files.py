"""A pair file of the tiny task for training tests (pytest and the TypeScript integration tests).

python workers/tests/pair_files.py FOLDER N   # writes FOLDER/pairs.jsonl and its images, prints the path
"""

from __future__ import annotations

import sys
from pathlib import Path

from ipa_worker.data.jsonl_io import atomic_write_jsonl
from PIL import Image


def write_pairs(folder: Path, n: int, name: str = "pairs.jsonl") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        img = folder / f"img{i}.png"
        Image.new("RGB", (56, 56), ((20 * i) % 256, 200, 90)).save(img)
        rows.append(
            {
                "id": f"p{i}",
                "images": [str(img)],
                "prompt": [
                    {
                        "role": "user",
                        "content": [{"type": "image"}, {"type": "text", "text": f"What colour is shape {i}?"}],
                    }
                ],
                "chosen": [{"role": "assistant", "content": [{"type": "text", "text": "green " * (1 + i % 3)}]}],
                "rejected": [{"role": "assistant", "content": [{"type": "text", "text": "a red circle"}]}],
            }
        )
    path = folder / name
    atomic_write_jsonl(path, rows)
    return str(path)


if __name__ == "__main__":
    print(write_pairs(Path(sys.argv[1]), int(sys.argv[2])))
