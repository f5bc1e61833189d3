#!/usr/bin/env bash
# What `npm start`, `npm test` and `npm run bench` need before they run, and what CI
# runs on a fresh machine: dependencies, a Docker engine, redis-server (--with-redis:
# the cluster-mode specs start their own), Debian's numpy, pandas and matplotlib for its
# python3 (--with-harness-libraries: the harness specs' figures and previews), the
# runtime image, the minimal runtime image (--with-minimal-runtime: the runtimes specs
# run in it), Debian's chromium (--with-browser: the playground's browser spec drives
# it), Debian's mypy (--with-type-checkers: CI checks the Python client's types), the
# compiled service and its playground page (--build). Each is installed or built only where it
# is missing or out of date, with one line per step and its duration. An engine that answers is never touched; where
# none answers, a Debian machine run as root gets Debian's (scripts/provision-engine.sh),
# and any other stops with the one command to run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

with_redis=false
with_minimal_runtime=false
with_harness_libraries=false
with_browser=false
with_type_checkers=false
build=false
for option in "$@"; do
  case "$option" in
    --with-redis) with_redis=true ;;
    --with-minimal-runtime) with_minimal_runtime=true ;;
    --with-harness-libraries) with_harness_libraries=true ;;
    --with-browser) with_browser=true ;;
    --with-type-checkers) with_type_checkers=true ;;
    --build) build=true ;;
    *)
      echo "ensure-ready: unknown option $option (--with-redis, --with-minimal-runtime, --with-harness-libraries, --with-browser, --with-type-checkers, --build)" >&2
      exit 2
      ;;
  esac
done

did=0
# step <what> <command...>: runs a long step between two lines, the second with its duration.
step() {
  local what=$1 started=$SECONDS
  shift
  echo "ensure-ready: $what ..."
  "$@"
  echo "ensure-ready: $what: done in $((SECONDS - started)) s"
  did=$((did + 1))
}

# Installing system packages needs root, Debian's apt, and the engine on this machine.
can_provision() {
  [ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 &&
    case "${DOCKER_HOST:-unix://}" in unix://*) true ;; *) false ;; esac
}

# apt_install <package...>: Debian's packages, quietly, without their recommendations.
apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "dependencies (npm ci, about 2 min the first time)" npm ci --no-audit --no-fund
fi

if ! docker info >/dev/null 2>&1; then
  if ! can_provision; then
    cat >&2 <<MSG
ensure-ready: no Docker engine is reachable (DOCKER_HOST=${DOCKER_HOST:-unset}).
  Start one or point DOCKER_HOST at one (a Docker-in-Docker sidecar works); on Debian,
  install and start Debian's engine with: sudo scripts/provision-engine.sh
MSG
    exit 1
  fi
  step "Docker engine (Debian's docker.io and gVisor's runsc, started here)" \
    bash scripts/provision-engine.sh
fi

if $with_redis && ! command -v redis-server >/dev/null 2>&1; then
  if ! can_provision; then
    echo "ensure-ready: the cluster-mode specs start redis-server; install it with: sudo scripts/provision-redis.sh" >&2
    exit 1
  fi
  step "redis-server (Debian's package)" bash scripts/provision-redis.sh --install-only
fi

# The harness's own specs run it under Debian's python3 with the libraries whose figures
# and previews they check, as the runtime image has them; without them those cases skip.
harness_libraries="python3-numpy python3-pandas python3-matplotlib"
if $with_harness_libraries && can_provision &&
  ! dpkg-query -W -f='${Status}\n' $harness_libraries 2>/dev/null |
  awk '$3 != "installed" { missing = 1 } END { exit !(NR == 3 && !missing) }'; then
  step "numpy, pandas and matplotlib for Debian's python3 (the harness specs)" \
    apt_install $harness_libraries
fi

if $with_browser && ! command -v chromium >/dev/null 2>&1; then
  if ! can_provision; then
    echo "ensure-ready: the playground's browser spec drives Debian's chromium; install it with: sudo apt-get install chromium" >&2
    exit 1
  fi
  step "chromium (Debian's package: the playground's browser spec)" \
    apt_install chromium
fi

if $with_type_checkers && ! /usr/bin/python3 -m mypy --version >/dev/null 2>&1; then
  if ! can_provision; then
    echo "ensure-ready: CI checks the Python client with Debian's mypy; install it with: sudo apt-get install python3-mypy" >&2
    exit 1
  fi
  step "mypy (Debian's package: the Python client's types)" \
    apt_install python3-mypy
fi

image_state="$(bash scripts/build-runtime-image.sh --check)"
if [ "$image_state" != "up to date" ]; then
  step "runtime image ($image_state; 2-3 min offline)" bash scripts/build-runtime-image.sh
fi

# Made from the runtime image, so checked after it: a rebuilt runtime image makes it stale.
if $with_minimal_runtime; then
  variant_state="$(bash scripts/build-runtime-variant.sh --check)"
  if [ "$variant_state" != "up to date" ]; then
    step "minimal runtime image ($variant_state; seconds, offline)" \
      bash scripts/build-runtime-variant.sh
  fi
fi

# The compiled service is stale when a source, setting or dependency is newer than its
# last build (an incremental build may leave main.js as it was: the mark is touched). The
# playground page (apps/playground, with the TypeScript client it bundles) is built with it.
build_mark=dist/apps/sandbox/src/main.js
if $build && { [ ! -f "$build_mark" ] || [ ! -f dist/playground/playground.js ] ||
  [ -n "$(find apps libs clients/typescript/src tsconfig.json nest-cli.json \
  node_modules/.package-lock.json -newer "$build_mark" -type f -not -name '*.spec.ts' \
  -print -quit)" ]; }; then
  step "build (npm run build: nest build sandbox, the playground page)" npm run --silent build
  touch "$build_mark"
fi

[ "$did" -eq 0 ] && echo "ensure-ready: nothing to do: everything is installed and up to date"
exit 0
