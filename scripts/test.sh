#!/usr/bin/env bash
# `npm test`: install what is missing, then every unit and end-to-end spec (the
# end-to-end ones against the real Docker engine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-ready.sh
exec npx jest --runInBand "$@"
