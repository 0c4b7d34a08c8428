#!/usr/bin/env bash
# Creates (once) the worker's Python environment in a cache outside the clone, keyed by the
# lock file's hash, and links it as .venv. A second clone with the same lock reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${IPA_CACHE:-$HOME/.cache/ipa}"
key=$(cat workers/requirements.lock | sha256sum | cut -c1-16)
env_dir="$cache/py-$key"
mkdir -p "$cache"
# Two checkouts setting up at once share the cache: the second waits for the first's install
# instead of deleting the half-built environment under it.
exec 9>"$cache/setup-python.lock"
flock 9
if [ ! -x "$env_dir/bin/python" ] || [ ! -f "$env_dir/.complete" ]; then
  start=$(date +%s)
  echo "setup-python: creating $env_dir (cold install)"
  rm -rf "$env_dir" "$cache/uv-tool"
  # uv resolves and installs an order of magnitude faster than pip; it is itself pinned here.
  python3 -m venv "$cache/uv-tool"
  "$cache/uv-tool/bin/python" -m pip install -q --disable-pip-version-check uv==0.13.9
  "$cache/uv-tool/bin/uv" venv -q -p "$(command -v python3)" "$env_dir"
  VIRTUAL_ENV="$env_dir" "$cache/uv-tool/bin/uv" pip sync -q workers/requirements.lock
  touch "$env_dir/.complete"
  echo "setup-python: done in $(( $(date +%s) - start )) s"
fi
ln -sfn "$env_dir" .venv
