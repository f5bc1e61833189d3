#!/usr/bin/env bash
# Installs and starts Debian's Docker engine on a machine that has none (CI, a fresh
# Debian box). Idempotent: does nothing when `docker info` already answers.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "provision-engine: a Docker engine is already reachable"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "provision-engine: no Docker engine is reachable and installing one needs root" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "provision-engine: installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

# No bridge and no iptables: sandbox containers run with networking disabled, and
# these machines have no iptables rules to manage.
echo "provision-engine: starting dockerd"
nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/dockerd.log 2>&1 &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "provision-engine: Docker engine is up"
    exit 0
  fi
  sleep 1
done
echo "provision-engine: dockerd did not come up in 60 s; see /var/log/dockerd.log" >&2
exit 1
