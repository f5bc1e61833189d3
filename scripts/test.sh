#!/usr/bin/env bash
# `npm test`: set up what is missing (scripts/ensure-ready.sh, redis-server included:
# the cluster-mode specs start their own; and the minimal runtime image the runtimes
# specs use), then every unit and end-to-end spec (the end-to-end ones against the real
# Docker engine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-ready.sh --with-redis --with-minimal-runtime
exec npx jest --runInBand "$@"
