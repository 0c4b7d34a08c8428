#!/usr/bin/env bash
# Downloads the exact wheels (versions from workers/requirements.lock) that `make gpu-check` needs
# on a GPU box that has Python and PyTorch but no internet: transformers, TRL, PEFT, accelerate,
# datasets, tokenizers, safetensors, huggingface-hub and what they need, less PyTorch's own
# dependencies (torch, torchvision, numpy, pillow, CUDA libraries, triton, ...), which the box has.
#
#   scripts/fetch-gpu-check-wheels.sh [DIR]      # default DIR: .whl
#
# Environment: PY_VERSION (the box's Python, default 3.12), SKIP (packages the box must have already,
# default "pyarrow pandas": 67 MB together, twice the rest; datasets and TRL need pyarrow >= 24 and
# pandas >= 2.1.1),
# MAX_MB (the size budget, default 60). Fails when the wheels come to more than MAX_MB.
# On the box (docs/deployment.md, "The GPU check"):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site DIR/*.whl
#   PYTHONPATH=/tmp/site:workers python3 -m ipa_worker.tools.gpu_check --out gpu-check.json
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.whl}"
py="${PY_VERSION:-3.12}"
skip="${SKIP-pyarrow pandas}"
max_mb="${MAX_MB:-60}"

# torch needs plain fsspec; the lock's fsspec carries the http extra (aiohttp, idna, ...) for
# datasets, which a box with PyTorch need not have: those are fetched.
# shellcheck disable=SC2086  # word splitting of $skip is intended
mapfile -t pins < <(PYTHONPATH=workers python3 -m ipa_worker.tools.lock_closure workers/requirements.lock \
  --root transformers trl peft accelerate datasets tokenizers safetensors huggingface-hub filelock \
  --exclude-closure-of torch torchvision --stop-at fsspec --skip $skip)

rm -rf "$dir" && mkdir -p "$dir"
echo "fetch-gpu-check-wheels: ${#pins[@]} packages for CPython $py on x86_64 into $dir"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dir" "${pins[@]}"

bytes=$(du -cb "$dir"/*.whl | tail -1 | cut -f1)
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1000000 }')
ls -1 "$dir"
echo "fetch-gpu-check-wheels: $(ls "$dir"/*.whl | wc -l) wheels, $mb MB (budget $max_mb MB)${skip:+; expected on the box already: $skip}"
awk -v b="$bytes" -v m="$max_mb" 'BEGIN { exit !(b <= m * 1000000) }' || { echo "fetch-gpu-check-wheels: over the $max_mb MB budget" >&2; exit 1; }
