"""Writes the training benchmark's preference pairs (TRL conversational format, one image each)
to <dir>/pairs.jsonl, so both trainers read the very same file."""

import json
import sys
from pathlib import Path

from PIL import Image

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]


def main(out: str, n: int) -> None:
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "pairs.jsonl", "w") as f:
        for i in range(n):
            colour = COLOURS[i % len(COLOURS)]
            img = d / f"img{i}.png"
            Image.new("RGB", (56, 56), colour).save(img)
            f.write(json.dumps({
                "id": f"p{i}", "images": [str(img)],
                "prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": f"What colour is the square (item {i})?"}]}],
                "chosen": [{"role": "assistant", "content": [{"type": "text", "text": colour}]}],
                "rejected": [{"role": "assistant", "content": [{"type": "text", "text": f"a {COLOURS[(i + 3) % len(COLOURS)]} circle"}]}],
            }) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
