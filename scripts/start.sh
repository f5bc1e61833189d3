#!/usr/bin/env bash
# `npm start`: install what is missing, build, and run the service in the foreground.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-ready.sh
npx nest build sandbox
exec node dist/apps/sandbox/src/main.js
