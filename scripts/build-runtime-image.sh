#!/usr/bin/env bash
# Builds the sandbox runtime image (SANDBOX_IMAGE, default brain-net-sandbox-runtime:3.11)
# whichever way works on this machine, and says which one it used:
#   1. `docker build docker/runtime` (needs an image registry for python:3.11-slim);
#   2. offline: debootstrap Debian bookworm with python3, numpy and pandas from the
#      machine's own apt mirror, then `docker import` it under the same tag.
# Does nothing when the image already exists, unless --force is given.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${SANDBOX_IMAGE:-brain-net-sandbox-runtime:3.11}"
force=false
[ "${1:-}" = "--force" ] && force=true

if ! docker info >/dev/null 2>&1; then
  echo "build-runtime-image: no Docker engine is reachable (DOCKER_HOST=${DOCKER_HOST:-unset})." >&2
  echo "build-runtime-image: start one, or run scripts/provision-engine.sh as root on Debian." >&2
  exit 1
fi

if ! $force && docker image inspect "$image" >/dev/null 2>&1; then
  echo "build-runtime-image: $image already exists"
  exit 0
fi

echo "build-runtime-image: trying docker build (needs python:3.11-slim from a registry)"
if timeout 600 docker build -q -t "$image" "$here/docker/runtime" >/tmp/runtime-docker-build.log 2>&1; then
  echo "build-runtime-image: built $image with docker build (docker/runtime/Dockerfile)"
  exit 0
fi
echo "build-runtime-image: docker build failed ($(tail -n 1 /tmp/runtime-docker-build.log)); building offline"

# The first Debian mirror named in the machine's apt sources (deb822 or one-line form).
mirror="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n 1 || true)"
if [ -z "$mirror" ]; then
  mirror="$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n 1 || true)"
fi
if [ -z "$mirror" ]; then
  echo "build-runtime-image: no Debian mirror found in /etc/apt/sources*" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "build-runtime-image: installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rootfs="$(mktemp -d /tmp/sandbox-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "build-runtime-image: debootstrap bookworm from $mirror into $rootfs"
debootstrap --variant=minbase --include=python3,python3-numpy,python3-pandas \
  bookworm "$rootfs" "$mirror" >/tmp/runtime-debootstrap.log 2>&1 || {
  tail -n 20 /tmp/runtime-debootstrap.log >&2
  exit 1
}

# The same non-root user as the Dockerfile, written directly: minbase may lack useradd.
echo 'sandbox:x:10001:10001:sandbox:/tmp:/usr/sbin/nologin' >>"$rootfs/etc/passwd"
echo 'sandbox:x:10001:' >>"$rootfs/etc/group"
# Nothing the sandbox needs: package caches, docs, manuals.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8' \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /tmp' \
  --change 'CMD ["python3"]' \
  - "$image" >/dev/null
echo "build-runtime-image: built $image offline (debootstrap bookworm + docker import)"
