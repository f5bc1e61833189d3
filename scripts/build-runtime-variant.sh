#!/usr/bin/env bash
# Builds the minimal runtime image (SANDBOX_MINIMAL_IMAGE, default
# brain-net-sandbox-runtime-minimal:3.11: numpy, and none of pandas, matplotlib, scipy,
# scikit-learn) from the default one (SANDBOX_IMAGE), offline and in seconds: a container
# of the default image, run as root without a network, deletes those packages, checks
# that numpy still imports and they do not, and `docker commit` keeps the result with
# the default image's user, working directory and command. The end-to-end specs of
# runtimes use it (test/runtimes.e2e-spec.ts); register it as a runtime with
# SANDBOX_RUNTIMES (README, "Runtimes").
# The image is labelled with the id of the image it was made from and a hash of this
# script: it is up to date while both match, so a rebuilt default image makes it stale.
# --check only prints what a build would do: "up to date", "missing" or "stale: ...";
# --force rebuilds it anyway.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${SANDBOX_IMAGE:-brain-net-sandbox-runtime:3.11}"
image="${SANDBOX_MINIMAL_IMAGE:-brain-net-sandbox-runtime-minimal:3.11}"
force=false
check=false
case "${1:-}" in
  --force) force=true ;;
  --check) check=true ;;
esac

BASE_LABEL=brain-net.runtime-base
RECIPE_LABEL=brain-net.runtime-variant
recipe="$(sha256sum "$here/scripts/build-runtime-variant.sh" | cut -c1-16)"

# What the variant leaves out: top-level modules, and the distributions whose metadata
# (dist-info, egg-info, .pth, pip's vendored .libs) go with them, in Debian's or pip's layout.
PRUNE="$(
  cat <<'PY'
import glob, importlib.util, os, shutil, sys

MODULES = ['pandas', 'matplotlib', 'mpl_toolkits', 'pylab', 'scipy', 'sklearn']
DISTRIBUTIONS = ['pandas', 'matplotlib', 'scipy', 'scikit_learn', 'scikit-learn']

for name in MODULES:
    spec = importlib.util.find_spec(name)
    if spec is None:
        continue
    for place in spec.submodule_search_locations or []:
        shutil.rmtree(place, ignore_errors=True)
    if spec.origin and os.path.isfile(spec.origin):
        os.remove(spec.origin)
for directory in filter(os.path.isdir, sys.path):
    for name in DISTRIBUTIONS:
        for pattern in (f'{name}-*.dist-info', f'{name}-*.egg-info', f'{name}-*.pth', f'{name}.libs'):
            for path in glob.glob(os.path.join(directory, pattern)):
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)

# Checked by a fresh Python: this one's site has run the deleted .pth files already.
CHECK = f'''
import importlib.util, sys
left = [name for name in {MODULES!r} if importlib.util.find_spec(name) is not None]
if left:
    sys.exit('still importable: ' + ', '.join(left))
import numpy
print('numpy', numpy.__version__, 'kept; removed', ', '.join({MODULES!r}))
'''
os.execv(sys.executable, [sys.executable, '-I', '-c', CHECK])
PY
)"

if ! docker info >/dev/null 2>&1; then
  echo "build-runtime-variant: no Docker engine is reachable (DOCKER_HOST=${DOCKER_HOST:-unset})." >&2
  exit 1
fi
if ! base_id="$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null)"; then
  echo "build-runtime-variant: $base is missing; build it first (npm run build:image)" >&2
  exit 1
fi

state="missing"
if docker image inspect "$image" >/dev/null 2>&1; then
  made_from="$(docker image inspect -f "{{ index .Config.Labels \"$BASE_LABEL\" }}" "$image")"
  made_by="$(docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$image")"
  if [ "$made_from" = "$base_id" ] && [ "$made_by" = "$recipe" ]; then
    state="up to date"
  elif [ "$made_from" != "$base_id" ]; then
    state="stale: $base was rebuilt"
  else
    state="stale: this script changed"
  fi
fi
if $check; then
  echo "$state"
  exit 0
fi
if ! $force && [ "$state" = "up to date" ]; then
  echo "build-runtime-variant: $image is up to date (from $base, ${base_id:7:12})"
  exit 0
fi
echo "build-runtime-variant: building $image from $base ($state)"

container="brain-net-runtime-variant-$$"
trap 'docker rm -f "$container" >/dev/null 2>&1 || true' EXIT
docker run --name "$container" --user 0 --network none "$base" python3 -I -c "$PRUNE"

# What a container of the variant starts as: the default image's settings, not this run's.
user="$(docker image inspect -f '{{.Config.User}}' "$base")"
workdir="$(docker image inspect -f '{{.Config.WorkingDir}}' "$base")"
cmd="$(docker image inspect -f '{{json .Config.Cmd}}' "$base")"
docker commit \
  --change "USER ${user:-10001:10001}" \
  --change "WORKDIR ${workdir:-/tmp}" \
  --change "CMD $cmd" \
  --change "LABEL brain-net.runtime-inputs= $BASE_LABEL=$base_id $RECIPE_LABEL=$recipe" \
  "$container" "$image" >/dev/null
echo "build-runtime-variant: built $image (numpy only) from $base"
