#!/usr/bin/env bash
# Debian's redis-server for cluster mode and its tests, as root: installs it if missing
# and starts one on 127.0.0.1:6379 with append-only persistence (what compose and
# Kubernetes run too), for `REDIS_URL=redis://127.0.0.1:6379 npm start`. With
# --install-only it stops after the install: the end-to-end specs start their own
# servers on free ports (`npm test` runs it so).
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  echo "provision-redis: installing Debian's redis-server"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
[ "${1:-}" = "--install-only" ] && exit 0
# Debian's package may start its own service; either way one answers on 6379 after this.
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "provision-redis: Redis already answers on 127.0.0.1:6379"
  exit 0
fi
data=/var/lib/brain-net-redis
mkdir -p "$data"
redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --appendonly yes \
  --dir "$data" --logfile "$data/redis.log"
for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "provision-redis: Redis is up ($(redis-server --version | cut -d' ' -f3))"
    exit 0
  fi
  sleep 0.1
done
echo "provision-redis: Redis did not answer on 127.0.0.1:6379" >&2
exit 1
