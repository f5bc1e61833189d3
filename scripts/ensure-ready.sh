#!/usr/bin/env bash
# What `npm start` and `npm test` need before they run: dependencies installed, a
# reachable Docker engine, the runtime image. Installs what is missing; stops with a
# clear message where it cannot.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-ready: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

if ! docker info >/dev/null 2>&1; then
  cat >&2 <<MSG
ensure-ready: no Docker engine is reachable (DOCKER_HOST=${DOCKER_HOST:-unset}).
  Start one, point DOCKER_HOST at one (a Docker-in-Docker sidecar works), or on Debian
  install and start Debian's engine as root with: scripts/provision-engine.sh
MSG
  exit 1
fi

bash scripts/build-runtime-image.sh
