#!/usr/bin/env bash
# System packages from Debian: redis-server and tmux (the terminal tests) always; chromium for the
# dashboard's browser test.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ "${1:-}" = "--browser" ]; then command -v chromium >/dev/null 2>&1 || need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-system: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# `docker compose config` (test/docker.test.ts) needs the Compose plugin beside the docker CLI.
if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  "$(dirname "$0")/../docker/install-compose-plugin.sh"
fi
