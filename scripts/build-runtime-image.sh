#!/usr/bin/env bash
# Builds the sandbox runtime image (SANDBOX_IMAGE, default brain-net-sandbox-runtime:3.11)
# whichever way works on this machine, and says which one it used:
#   1. `docker build docker/runtime` (needs an image registry for python:3.11-slim);
#   2. offline: debootstrap Debian bookworm with docker/runtime/debian-packages.txt from
#      the machine's own apt mirror, then `docker import` it under the same tag.
# Either way the image carries the label brain-net.runtime-inputs: a hash of what it is
# built from (the Dockerfile, the package list, this script's RECIPE). Does nothing when
# the image exists with the same inputs, unless --force is given; rebuilds it when they
# changed. An image under a SANDBOX_IMAGE of your own, without that label, is left alone.
# --check only prints what a build would do: "up to date", "missing" or "inputs changed".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_image=brain-net-sandbox-runtime:3.11
image="${SANDBOX_IMAGE:-$default_image}"
force=false
check=false
case "${1:-}" in
  --force) force=true ;;
  --check) check=true ;;
esac

# Bump when the way the image is built changes in a way its inputs do not show.
RECIPE=1
LABEL=brain-net.runtime-inputs
packages_file="$here/docker/runtime/debian-packages.txt"
inputs="$(
  {
    echo "recipe $RECIPE"
    cat "$here/docker/runtime/Dockerfile" "$packages_file"
  } | sha256sum | cut -c1-16
)"

if ! docker info >/dev/null 2>&1; then
  echo "build-runtime-image: no Docker engine is reachable (DOCKER_HOST=${DOCKER_HOST:-unset})." >&2
  echo "build-runtime-image: start one, or run scripts/provision-engine.sh as root on Debian." >&2
  exit 1
fi

# What the image on the engine is: up to date, missing, or built from other inputs.
state="missing"
if docker image inspect "$image" >/dev/null 2>&1; then
  built_from="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$image")"
  if [ "$built_from" = "$inputs" ]; then
    state="up to date"
  elif [ -z "$built_from" ] && [ "$image" != "$default_image" ]; then
    echo "build-runtime-image: $image exists and was not built here (no $LABEL label); left as it is" >&2
    state="up to date"
  else
    state="inputs changed: ${built_from:-unlabelled} -> $inputs"
  fi
fi
if $check; then
  echo "$state"
  exit 0
fi
if ! $force && [ "$state" = "up to date" ]; then
  echo "build-runtime-image: $image is up to date (inputs $inputs)"
  exit 0
fi
echo "build-runtime-image: building $image ($state)"

echo "build-runtime-image: trying docker build (needs python:3.11-slim from a registry)"
if timeout 600 docker build -q --label "$LABEL=$inputs" -t "$image" "$here/docker/runtime" \
  >/tmp/runtime-docker-build.log 2>&1; then
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
packages="$(grep -v '^#' "$packages_file" | xargs | tr ' ' ',')"
debootstrap --variant=minbase --include="$packages" \
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
  --change "LABEL $LABEL=$inputs" \
  - "$image" >/dev/null
echo "build-runtime-image: built $image offline (debootstrap bookworm + docker import, inputs $inputs)"
