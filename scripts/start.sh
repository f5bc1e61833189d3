#!/usr/bin/env bash
# `npm start`: set up what is missing (scripts/ensure-ready.sh), build if stale, and run
# the service in the foreground.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-ready.sh --build
exec node dist/apps/sandbox/src/main.js
