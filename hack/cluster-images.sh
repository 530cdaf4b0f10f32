#!/usr/bin/env bash
# The container images the node harness (tests/cluster) runs, built with buildah
# into its local storage; there is no Docker engine and no Docker Hub here:
#
#   localhost/imagegate-e2e/python:3.11-slim  a Python 3.11 base made with mmdebstrap from
#                                             Debian bookworm (python3, pip, ca-certificates),
#                                             standing in for python:3.11-slim
#   localhost/imagegate-e2e/pause:<version>   the sandbox image, from hack/cluster-tools.sh's pause
#   localhost/imagegate-e2e/busybox:1 and :2  test workloads (busybox-static); two digests
#   localhost/imagegate-e2e/imagegate:dev     this repository's Dockerfile on that base
#
# The first three are cached (rebuilt only when their inputs change); imagegate is
# rebuilt from scratch every run (about half a minute): buildah 1.28's layer cache
# missed changes under src/ behind the .dockerignore allow-list and served a stale image.
# The harness pushes them to the registry inside its network namespace.
#
#   hack/cluster-images.sh "$(hack/cluster-tools.sh | tail -1)"
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:?usage: $0 BIN_DIR (the last line of hack/cluster-tools.sh)}
PREFIX=localhost/imagegate-e2e
SUITE=bookworm
BASE_PACKAGES=python3,python3-pip,python-is-python3,ca-certificates,tzdata
WORK=${IMAGEGATE_E2E_CACHE:-$HOME/.cache/imagegate-e2e}/images
mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock 9

log() { printf '[cluster-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# image_key NAME: the inputs label an image was built from, or nothing.
image_key() {
  buildah inspect --type image --format '{{index .ImageAnnotations "dev.imagegate.e2e.key"}}' "$1" 2>/dev/null || true
}

# commit_scratch NAME KEY ROOTFS CONFIG...: an image of ROOTFS alone, with buildah config flags.
commit_scratch() {
  local name=$1 key=$2 rootfs=$3 container
  shift 3
  container=$(buildah from scratch)
  buildah add --quiet "$container" "$rootfs" / >/dev/null
  buildah config "$@" --annotation "dev.imagegate.e2e.key=$key" "$container"
  buildah commit --quiet --rm "$container" "$name" >/dev/null
}

# --- the Python base ------------------------------------------------------------
# Debian's sources as the host has them, so the same mirror (or its stand-in) serves.
SOURCES=/etc/apt/sources.list.d/debian.sources
[[ -f $SOURCES ]] || SOURCES=/etc/apt/sources.list
BASE=$PREFIX/python:3.11-slim
BASE_KEY="$SUITE $BASE_PACKAGES v1"
if [[ $(image_key "$BASE") == "$BASE_KEY" ]]; then
  log "$BASE: cached"
else
  log "building $BASE with mmdebstrap ($BASE_PACKAGES)"
  rm -f "$WORK/python-rootfs.tar"
  # python:3.11-slim leaves pip usable system-wide: drop Debian's PEP 668 marker.
  mmdebstrap --quiet --variant=minbase --include="$BASE_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$SUITE" "$WORK/python-rootfs.tar" "$SOURCES" >&2
  commit_scratch "$BASE" "$BASE_KEY" "$WORK/python-rootfs.tar" \
    --env LANG=C.UTF-8 --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["python3"]' --os linux --arch amd64
  rm -f "$WORK/python-rootfs.tar"
fi

# --- pause ----------------------------------------------------------------------
PAUSE_VERSION=$(cat "$BIN/pause.version")
PAUSE=$PREFIX/pause:$PAUSE_VERSION
PAUSE_KEY="pause $(sha256sum <"$BIN/pause" | cut -c1-16)"
if [[ $(image_key "$PAUSE") == "$PAUSE_KEY" ]]; then
  log "$PAUSE: cached"
else
  rm -rf "$WORK/pause-rootfs" && mkdir -p "$WORK/pause-rootfs"
  install -m 0755 "$BIN/pause" "$WORK/pause-rootfs/pause"
  commit_scratch "$PAUSE" "$PAUSE_KEY" "$WORK/pause-rootfs" \
    --entrypoint '["/pause"]' --user 65535:65535 --os linux --arch amd64
fi

# --- busybox: two generations, so a rollout moves to another digest -------------
BUSYBOX_KEY="busybox $(dpkg-query -W -f='${Version}' busybox-static)"
for generation in 1 2; do
  name=$PREFIX/busybox:$generation
  if [[ $(image_key "$name") == "$BUSYBOX_KEY" ]]; then
    log "$name: cached"
    continue
  fi
  rootfs=$WORK/busybox-rootfs
  rm -rf "$rootfs" && mkdir -p "$rootfs/bin" "$rootfs/tmp"
  install -m 0755 /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  echo "$generation" >"$rootfs/generation"
  commit_scratch "$name" "$BUSYBOX_KEY" "$rootfs" \
    --env PATH=/bin --cmd '["/bin/sleep", "86400"]' --user 65534:65534 \
    --label "dev.imagegate.e2e.generation=$generation" --os linux --arch amd64
done

# --- imagegate, from the Dockerfile ---------------------------------------------
IMAGEGATE=$PREFIX/imagegate:dev
log "building $IMAGEGATE from the Dockerfile on $BASE"
# pip in the builder stage reaches PyPI through the host's network, trusting what
# the host trusts (a proxy's CA, say) without that becoming part of the image.
buildah bud --quiet --layers=false --network host \
  --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  --build-arg PYTHON_IMAGE="$BASE" \
  --build-arg VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGEGATE" -f Dockerfile . >&2
log "images: $BASE $PAUSE $PREFIX/busybox:1 $PREFIX/busybox:2 $IMAGEGATE"
