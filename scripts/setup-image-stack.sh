#!/usr/bin/env bash
# Creates (once) a CPU virtual environment holding the worker image's own Python set
# (docker/worker-requirements.lock: CUDA vLLM, torch and the rest, whose wheels import on a CPU)
# plus pytest at the development lock's versions, in a cache outside the clone keyed by both, and
# links it as .venv-image. `make test-image-stack` runs the worker tests in it, so drift between
# what ships and what is developed fails a test. About 9 GB on disk.
#   --cached  only say (exit 0 or 1) whether the environment is built; build nothing (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${IPA_CACHE:-$HOME/.cache/ipa}"
# What the tests need beyond the image: pytest and its two dependencies the image lacks.
test_pins=$(grep -E '^(pytest|iniconfig|pluggy)==' workers/requirements.lock)
key=$( { cat docker/worker-requirements.lock; echo "$test_pins"; } | sha256sum | cut -c1-16)
env_dir="$cache/image-$key"
ready() { [ -x "$env_dir/bin/python" ] && [ -f "$env_dir/.complete" ]; }
if [ "${1:-}" = "--cached" ]; then
  if ready; then ln -sfn "$env_dir" .venv-image; exit 0; fi
  exit 1
fi
scripts/setup-python.sh  # provides the pinned uv
exec 9>"$cache/setup-image-stack.lock"
flock 9
if ! ready; then
  start=$(date +%s)
  echo "setup-image-stack: creating $env_dir (the worker image's lock, on this CPU)"
  rm -rf "$env_dir"
  "$cache/uv-tool/bin/uv" venv -q -p "$(command -v python3)" "$env_dir"
  VIRTUAL_ENV="$env_dir" "$cache/uv-tool/bin/uv" pip sync -q docker/worker-requirements.lock
  # shellcheck disable=SC2086 - one pin a word
  VIRTUAL_ENV="$env_dir" "$cache/uv-tool/bin/uv" pip install -q --no-deps $test_pins
  touch "$env_dir/.complete"
  echo "setup-image-stack: done in $(( $(date +%s) - start )) s"
fi
ln -sfn "$env_dir" .venv-image
