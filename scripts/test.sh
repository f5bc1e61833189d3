#!/usr/bin/env bash
# `npm test`: install what is missing, then every unit and end-to-end spec (the
# end-to-end ones against the real Docker engine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-ready.sh
if ! command -v redis-server >/dev/null 2>&1; then
  echo "test: the cluster-mode specs start redis-server; install it with scripts/provision-redis.sh (root)" >&2
  exit 1
fi
exec npx jest --runInBand "$@"
