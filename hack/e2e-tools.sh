#!/usr/bin/env bash
# Build the real control-plane binaries the end-to-end tests run against:
# kube-apiserver, kubectl, etcd and helm, compiled from source with Go at pinned
# versions (no Docker/kind needed, only Go and the Go module proxy).
#
# With --node, also what a cluster with a node needs (hack/cluster-tools.sh asks
# for it): kube-controller-manager, kube-scheduler, kubelet and kube-proxy, from
# the same k8s.io/kubernetes version and wrapper module.
#
# Output goes to a cache OUTSIDE the repository:
#   ${IMAGEGATE_E2E_CACHE:-$HOME/.cache/imagegate-e2e}/<kubernetes-version>/bin/
#       kube-apiserver  etcd  kubectl  helm
#   .../<kubernetes-version>/versions.txt
#
# Idempotent: when all four binaries are there, run and report the pinned versions,
# the script does nothing else (well under a second). Only missing/wrong binaries
# are (re)built. The bin dir is printed as the LAST line of stdout; everything
# else goes to stderr:
#
#   BIN=$(hack/e2e-tools.sh | tail -1)
#
# Knobs (environment):
#   IMAGEGATE_E2E_CACHE          cache root (default ~/.cache/imagegate-e2e)
#   IMAGEGATE_E2E_K8S_VERSION    k8s.io/kubernetes tag (v1.x.y)
#   IMAGEGATE_E2E_ETCD_VERSION   go.etcd.io/etcd/server/v3 tag (v3.x.y)
#   IMAGEGATE_E2E_HELM_VERSION   helm.sh/helm/v3 tag (v3.x.y)
#   IMAGEGATE_E2E_BUILD_JOBS     go build -p (default 2: the machines have 2 cores)
#   IMAGEGATE_E2E_TIMEV=1        wrap each download/compile step in `/usr/bin/time -v`
#                                (reports go to <cache>/<k8s-version>/logs/*.time)
# The etcd version knob is deliberately NOT called ETCD_VERSION: etcd reads every
# ETCD_<FLAG> environment variable as a flag, so an exported ETCD_VERSION would
# break the etcd the tests start.
# Go's own caches (GOMODCACHE, GOCACHE) are left at their defaults so they are
# shared with everything else on the machine.
set -euo pipefail

# Components of k8s.io/kubernetes/cmd/ that report `Kubernetes <version>`.
KUBE_COMPONENTS=(kube-apiserver)
case ${1:-} in
  --node) KUBE_COMPONENTS+=(kube-controller-manager kube-scheduler kubelet kube-proxy) ;;
  "") ;;
  *) echo "usage: $0 [--node]" >&2; exit 2 ;;
esac

K8S_VERSION=${IMAGEGATE_E2E_K8S_VERSION:-v1.37.2}
ETCD_VERSION=${IMAGEGATE_E2E_ETCD_VERSION:-v3.7.3}
HELM_VERSION=${IMAGEGATE_E2E_HELM_VERSION:-v3.22.0}
BUILD_JOBS=${IMAGEGATE_E2E_BUILD_JOBS:-2}

CACHE_ROOT=${IMAGEGATE_E2E_CACHE:-$HOME/.cache/imagegate-e2e}
OUT=$CACHE_ROOT/$K8S_VERSION
BIN=$OUT/bin
VERSIONS_FILE=$OUT/versions.txt

log() { printf '[e2e-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- fast path: verify what is in the cache ----------------------------------

# Each check runs the binary and compares the version it reports with the pin.
check_component() {
  local out
  out=$("$BIN/$1" --version 2>/dev/null) || return 1
  [[ $out == "Kubernetes $K8S_VERSION" ]]
}
check_components() {
  local c
  for c in "${KUBE_COMPONENTS[@]}"; do check_component "$c" || return 1; done
}
check_kubectl() {
  local out
  out=$("$BIN/kubectl" version --client 2>/dev/null) || return 1
  [[ $out == *"Client Version: $K8S_VERSION"* ]]
}
check_etcd() {
  local out
  # etcd takes flags from ETCD_* env vars; keep the caller's out of the check.
  out=$(env -u ETCD_VERSION "$BIN/etcd" --version 2>/dev/null) || return 1
  [[ $out == *"etcd Version: ${ETCD_VERSION#v}"* ]]
}
check_helm() {
  local out
  out=$(HELM_CONFIG_HOME=/nonexistent HELM_CACHE_HOME=/nonexistent HELM_DATA_HOME=/nonexistent \
    "$BIN/helm" version --short 2>/dev/null) || return 1
  [[ $out == "$HELM_VERSION" || $out == "$HELM_VERSION+"* ]]
}

expected_versions() {
  printf 'kubernetes %s\netcd %s\nhelm %s\n' "$K8S_VERSION" "$ETCD_VERSION" "$HELM_VERSION"
}

cache_complete() {
  [[ -f $VERSIONS_FILE ]] || return 1
  # versions.txt also records the Go version; compare only the pinned lines.
  [[ $(grep -E '^(kubernetes|etcd|helm) ' "$VERSIONS_FILE") == "$(expected_versions)" ]] || return 1
  # Run the checks concurrently: the big binaries take ~0.1s each to start.
  local pids=() p c rc=0
  for c in "${KUBE_COMPONENTS[@]}"; do check_component "$c" & pids+=($!); done
  check_kubectl & pids+=($!)
  check_etcd & pids+=($!)
  check_helm & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}

if cache_complete; then
  echo "$BIN"
  exit 0
fi

# --- slow path: build what is missing -----------------------------------------

command -v go >/dev/null || die "go not found in PATH (Go >= 1.26 is needed to build the e2e tools)"
mkdir -p "$BIN" "$OUT/src" "$OUT/logs"

# Serialise concurrent callers (e.g. parallel test workers) on one lock.
if command -v flock >/dev/null; then
  exec 9>"$OUT/.lock"
  flock 9
  if cache_complete; then echo "$BIN"; exit 0; fi
fi

log "building e2e tools into $BIN (kubernetes $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION)"
log "$(go version); GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE)"

export CGO_ENABLED=0 GO111MODULE=on
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=$BUILD_JOBS"
TRIM=(-trimpath)

# step NAME CMD...: run a command, log its wall time (and /usr/bin/time -v if asked).
step() {
  local name=$1 start=$SECONDS
  shift
  log "-> $name"
  if [[ ${IMAGEGATE_E2E_TIMEV:-0} == 1 && -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$OUT/logs/$name.time" "$@"
    log "   $name: $((SECONDS - start))s, max RSS $(awk -F': ' '/Maximum resident/{print $2}' "$OUT/logs/$name.time") KiB"
  else
    "$@"
    log "   $name: $((SECONDS - start))s"
  fi
}

# mod_download_field MODULE@VERSION FIELD: download a module and print one field of
# `go mod download -json` (GoMod, Dir, Info, ...). Run outside any module.
mod_download_field() {
  local json
  json=$(cd "$OUT/src" && GOFLAGS= go mod download -json "$1") || die "cannot download $1: $json"
  sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" <<<"$json" | head -1
}

# release_date MODULE@VERSION: the tag time the module proxy reports, as RFC 3339.
release_date() {
  local info
  info=$(mod_download_field "$1" Info)
  sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info"
}

# local_replaces GOMOD: modules that GOMOD both requires and replaces with a local
# directory (e.g. k8s.io/api => ./staging/src/k8s.io/api). Those replacements are
# invisible to a consumer, so a wrapper module must point them at published versions.
local_replaces() {
  awk '
    function req(line,  a) { split(line, a, " "); if (a[1] != "") required[a[1]] = 1 }
    function rep(line,  a, i) {
      n = split(line, a, " ")
      for (i = 1; i <= n; i++) if (a[i] == "=>") break
      if (a[i + 1] ~ /^(\.\.?\/|\/)/) replaced[a[1]] = 1
    }
    /^require \(/ { blk = "q"; next }
    /^replace \(/ { blk = "r"; next }
    /^[a-z]+ \(/  { blk = "x"; next }
    /^\)/         { blk = ""; next }
    /^require /   { sub(/^require /, ""); req($0); next }
    /^replace /   { sub(/^replace /, ""); rep($0); next }
    /^[[:space:]]*\/\// { next }
    blk == "q" { req($0) }
    blk == "r" { rep($0) }
    END { for (m in replaced) if (m in required) print m }
  ' "$1" | LC_ALL=C sort
}

# setup_wrapper DIR MODULE VERSION STAGING_VERSION: write a throwaway main module in
# DIR that requires MODULE@VERSION and replaces each of MODULE's locally replaced
# sibling modules with SIBLING@STAGING_VERSION. Prints nothing.
setup_wrapper() {
  local dir=$1 module=$2 version=$3 sibling_version=$4 gomod goline m
  gomod=$(mod_download_field "$module@$version" GoMod)
  [[ -f $gomod ]] || die "no go.mod for $module@$version"
  goline=$(grep -m1 -E '^go [0-9]' "$gomod" || echo "go 1.26.0")
  mkdir -p "$dir"
  {
    echo "// Generated by hack/e2e-tools.sh (imagegate); throwaway wrapper to build $module@$version."
    echo "module imagegate.invalid/e2e-tools/$(basename "$dir")"
    echo
    echo "$goline"
    grep -E '^godebug [a-z]' "$gomod" || true
    echo
    echo "require $module $version"
    local reps
    reps=$(local_replaces "$gomod")
    if [[ -n $reps ]]; then
      echo
      echo "replace ("
      for m in $reps; do printf '\t%s => %s %s\n' "$m" "$m" "$sibling_version"; done
      echo ")"
    fi
  } >"$dir/go.mod"
  log "   wrapper $dir/go.mod: $(grep -c '=>' "$dir/go.mod" || true) replace directive(s)"
}

# install TMP FINAL: move a freshly built binary into place atomically.
install_bin() { chmod 0755 "$1" && mv -f "$1" "$2"; }

build_kubernetes() {
  local dir=$OUT/src/kubernetes staging_version date minor ldflags x
  # k8s.io/kubernetes v1.X.Y <-> staging modules (k8s.io/api, client-go, ...) v0.X.Y
  staging_version="v0.${K8S_VERSION#v1.}"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  date=$(release_date "k8s.io/kubernetes@$K8S_VERSION")
  setup_wrapper "$dir" k8s.io/kubernetes "$K8S_VERSION" "$staging_version"
  ldflags="-s -w"
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $x.gitVersion=$K8S_VERSION -X $x.gitMajor=1 -X $x.gitMinor=$minor"
    ldflags+=" -X $x.gitCommit=0000000000000000000000000000000000000000 -X $x.gitTreeState=clean"
    ldflags+=" -X $x.buildDate=${date:-1970-01-01T00:00:00Z}"
  done
  # Same build tags as upstream's hack/lib/golang.sh for release binaries.
  local tags=selinux,notest,grpcnotrace
  local pkgs=()
  local c
  for c in "${KUBE_COMPONENTS[@]}"; do check_component "$c" || pkgs+=("$c"); done
  check_kubectl || pkgs+=(kubectl)
  local p gets=()
  for p in "${pkgs[@]}"; do gets+=("k8s.io/kubernetes/cmd/$p@$K8S_VERSION"); done
  # Pin the version in `go get`: a bare package path would mean @upgrade.
  step k8s-download bash -c 'cd "$1" && shift && go get "$@"' _ "$dir" "${gets[@]}"
  for p in "${pkgs[@]}"; do
    step "$p-compile" bash -c 'cd "$1" && shift && go build "$@"' _ "$dir" \
      -mod=mod "${TRIM[@]}" -tags "$tags" -ldflags "$ldflags" -o "$BIN/.$p.tmp" "k8s.io/kubernetes/cmd/$p"
    install_bin "$BIN/.$p.tmp" "$BIN/$p"
  done
  check_components || die "${KUBE_COMPONENTS[*]} were built but do not all report $K8S_VERSION"
  check_kubectl || die "kubectl was built but does not report $K8S_VERSION"
}

build_etcd() {
  local dir=$OUT/src/etcd ldflags
  setup_wrapper "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
  ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=imagegate-e2e-$ETCD_VERSION"
  # The etcd binary is package main at the root of go.etcd.io/etcd/server/v3 (3.5+).
  step etcd-download bash -c 'cd "$1" && go get "go.etcd.io/etcd/server/v3@$2"' _ "$dir" "$ETCD_VERSION"
  step etcd-compile bash -c 'cd "$1" && shift && go build "$@"' _ "$dir" \
    -mod=mod "${TRIM[@]}" -ldflags "$ldflags" -o "$BIN/.etcd.tmp" go.etcd.io/etcd/server/v3
  install_bin "$BIN/.etcd.tmp" "$BIN/etcd"
  check_etcd || die "etcd was built but does not report ${ETCD_VERSION#v}"
}

build_helm() {
  local gomod client_go minor ldflags
  gomod=$(mod_download_field "helm.sh/helm/v3@$HELM_VERSION" GoMod)
  # helm's Makefile derives the default Capabilities.KubeVersion from its client-go.
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  minor=${client_go#v0.}; minor=${minor%%.*}
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  if [[ -n $minor ]]; then
    local x
    for x in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags+=" -X $x.k8sVersionMajor=1 -X $x.k8sVersionMinor=$minor"
    done
  fi
  if grep -qE '^(replace|exclude)([[:space:]]|$)' "$gomod"; then
    # `go install pkg@version` refuses modules with replace/exclude directives.
    local dir=$OUT/src/helm
    setup_wrapper "$dir" helm.sh/helm/v3 "$HELM_VERSION" "$HELM_VERSION"
    step helm-download bash -c 'cd "$1" && go get "helm.sh/helm/v3/cmd/helm@$2"' _ "$dir" "$HELM_VERSION"
    step helm-compile bash -c 'cd "$1" && shift && go build "$@"' _ "$dir" \
      -mod=mod "${TRIM[@]}" -ldflags "$ldflags" -o "$BIN/.helm.tmp" helm.sh/helm/v3/cmd/helm
    install_bin "$BIN/.helm.tmp" "$BIN/helm"
  else
    local tmpbin
    tmpbin=$(mktemp -d "$OUT/src/helm-bin.XXXXXX")
    step helm-install bash -c 'cd "$1" && export GOBIN="$2" && shift 2 && go install "$@"' _ \
      "$OUT/src" "$tmpbin" "${TRIM[@]}" -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    install_bin "$tmpbin/helm" "$BIN/helm"
    rmdir "$tmpbin"
  fi
  check_helm || die "helm was built but does not report $HELM_VERSION"
}

total_start=$SECONDS
rm -f "$VERSIONS_FILE"
if check_etcd; then log "etcd $ETCD_VERSION: cached"; else build_etcd; fi
if check_components && check_kubectl; then log "${KUBE_COMPONENTS[*]}/kubectl $K8S_VERSION: cached"; else build_kubernetes; fi
if check_helm; then log "helm $HELM_VERSION: cached"; else build_helm; fi

{
  expected_versions
  echo "go $(go env GOVERSION)"
} >"$VERSIONS_FILE.tmp"
mv -f "$VERSIONS_FILE.tmp" "$VERSIONS_FILE"
log "done in $((SECONDS - total_start))s; $(du -sh "$BIN" | cut -f1) in $BIN"
echo "$BIN"
