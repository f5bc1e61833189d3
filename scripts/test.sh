#!/usr/bin/env bash
# `npm test`: set up what is missing (scripts/ensure-ready.sh, redis-server included:
# the cluster-mode specs start their own; the minimal runtime image the runtimes specs
# use; Debian's numpy, pandas and matplotlib for the harness specs; Debian's chromium for
# the playground's browser spec), then every unit and end-to-end spec (the end-to-end ones
# against the real Docker engine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-ready.sh --with-redis --with-minimal-runtime --with-harness-libraries --with-browser
exec npx jest --runInBand "$@"
