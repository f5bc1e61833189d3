#!/usr/bin/env bash
# Installs and starts Debian's Docker engine on a machine that has none (CI, a fresh
# Debian box), and registers gVisor's `runsc` runtime with it (SANDBOX_RUNTIME=runsc).
# Idempotent: an engine that answers is left running; runsc is installed and registered
# only where it is missing, and the engine is reloaded (SIGHUP), not restarted, so
# running containers are untouched.
set -euo pipefail

DAEMON_JSON=/etc/docker/daemon.json
RUNSC=/usr/bin/runsc

runsc_registered() {
  docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'
}

# Writes the runsc entry into daemon.json, keeping every other key. Prints "changed"
# when the file was rewritten, "unchanged" when it already held exactly this entry.
register_runsc() {
  mkdir -p "$(dirname "$DAEMON_JSON")"
  python3 - "$DAEMON_JSON" "$RUNSC" <<'PY'
import json, os, sys

path, runsc = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        text = f.read()
    config = json.loads(text) if text.strip() else {}
except FileNotFoundError:
    config = {}
if not isinstance(config, dict):
    sys.exit(f"provision-engine: {path} is not a JSON object; fix it by hand")
# --network=none: without it runsc containers fail to start on these engines (no
# bridge); the sandbox runs with networking disabled anyway. The default (ptrace)
# platform is kept: --platform=kvm hangs here.
entry = {"path": runsc, "runtimeArgs": ["--network=none"]}
runtimes = config.setdefault("runtimes", {})
if runtimes.get("runsc") == entry:
    print("unchanged")
    sys.exit(0)
runtimes["runsc"] = entry
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
print("changed")
PY
}

wait_for() {
  local what=$1 seconds=$2 check=$3
  for _ in $(seq 1 "$seconds"); do
    if $check; then return 0; fi
    sleep 1
  done
  echo "provision-engine: $what did not happen in $seconds s; see /var/log/dockerd.log" >&2
  return 1
}

engine_answers() { docker info >/dev/null 2>&1; }

engine_up=false
if engine_answers; then
  engine_up=true
  echo "provision-engine: a Docker engine is already reachable"
  if runsc_registered; then
    echo "provision-engine: the engine already has the runsc runtime"
    exit 0
  fi
fi

# From here on something must be installed or configured on this machine.
if [ "$(id -u)" -ne 0 ]; then
  if $engine_up; then
    echo "provision-engine: the engine has no runsc runtime, and registering it needs root;" \
      "SANDBOX_RUNTIME=runsc will not work until it is (sudo $0)" >&2
    exit 0
  fi
  echo "provision-engine: no Docker engine is reachable and installing one needs root" >&2
  exit 1
fi
case "${DOCKER_HOST:-unix://}" in
  unix://*) ;;
  *)
    # daemon.json here would not reach a remote engine (a Docker-in-Docker sidecar, say).
    echo "provision-engine: DOCKER_HOST=$DOCKER_HOST is not this machine's engine;" \
      "register runsc on that engine yourself" >&2
    $engine_up && exit 0
    exit 1
    ;;
esac

packages=()
command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
[ -x "$RUNSC" ] || packages+=(runsc)
if [ ${#packages[@]} -gt 0 ]; then
  echo "provision-engine: installing Debian's ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

change=$(register_runsc)
echo "provision-engine: $DAEMON_JSON runsc entry $change"

# Asked again: installing docker.io may have started the engine already (systemd).
if ! engine_answers; then
  # No bridge and no iptables: sandbox containers run with networking disabled, and
  # these machines have no iptables rules to manage.
  echo "provision-engine: starting dockerd"
  nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/dockerd.log 2>&1 &
  wait_for "dockerd coming up" 60 engine_answers
  echo "provision-engine: Docker engine is up"
elif ! runsc_registered; then
  # dockerd re-reads daemon.json's runtimes on SIGHUP (whether systemd or a shell
  # started it); a restart would kill whatever runs on it.
  pid=$(pidof dockerd || true)
  if [ -z "$pid" ]; then
    echo "provision-engine: the engine answers but no local dockerd process was found;" \
      "reload it yourself to pick up $DAEMON_JSON" >&2
    exit 1
  fi
  echo "provision-engine: reloading dockerd ($pid) to register runsc"
  kill -HUP $pid
fi

wait_for "the engine listing the runsc runtime" 30 runsc_registered
echo "provision-engine: the engine has the runsc runtime ($($RUNSC --version | head -n 1))"
