#!/usr/bin/env bash
# Builds the envtest control-plane binaries (kube-apiserver, kube-controller-manager, etcd)
# from Go modules and caches them OUTSIDE the repository:
#
#   ${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/envtest/<k8s-version>/
#
# On success the only thing printed on stdout is that directory (callers read it); progress goes
# to stderr. Idempotent: binaries that already exist are not rebuilt. Concurrency-safe: builds run
# under an flock on the cache, and binaries are moved into place atomically.
#
# Environment:
#   KUBEBUILDER_ASSETS     directory that already holds the three binaries: use it, build nothing
#   KUBE_KMIP_CACHE        cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip)
#   ENVTEST_K8S_VERSION    k8s.io/kubernetes release to build (default below)
#   ENVTEST_ETCD_VERSION   go.etcd.io/etcd/server/v3 release to build (default below)
#   ENVTEST_GO_PARALLEL    value for go build -p (default: go's own, i.e. the number of cores)
set -euo pipefail

K8S_VERSION="${ENVTEST_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ENVTEST_ETCD_VERSION:-v3.6.16}"
BINARIES=(etcd kube-apiserver kube-controller-manager)

log() { printf '[envtest/build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- KUBEBUILDER_ASSETS: use what is there, build nothing -----------------------------------------
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  for b in "${BINARIES[@]}"; do
    [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"
  done
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  printf '%s\n' "$KUBEBUILDER_ASSETS"
  exit 0
fi

[[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "ENVTEST_K8S_VERSION must look like v1.Y.Z, got $K8S_VERSION"
K8S_MINOR="${BASH_REMATCH[1]}"
STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

CACHE_ROOT="${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/envtest"
OUT="$CACHE_ROOT/$K8S_VERSION"
SRC="$CACHE_ROOT/src"
ETCD_STAMP="$OUT/.etcd-version"

have_all() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
  [[ "$(cat "$ETCD_STAMP" 2>/dev/null)" == "$ETCD_VERSION" ]]
}

# Fast path, no lock needed: everything is there.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build-cache.sh"
reuse_or_lock have_all "$OUT"

command -v go >/dev/null || die "go is not on PATH (needed to build the envtest binaries)"
mkdir -p "$OUT" "$SRC"

rm -f "$OUT"/*.tmp.* # left by a build that was killed mid-way (we hold the lock)

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
PFLAG=()
[[ -n "${ENVTEST_GO_PARALLEL:-}" ]] && PFLAG=(-p "$ENVTEST_GO_PARALLEL")
NICE=(nice -n 19)

# Runs a command with its output in a log file; shows the log's tail only if it fails.
quiet() { # <dir to run in> <log file> <command...>
  local dir="$1" logf="$2"; shift 2
  if ! (cd "$dir" && "$@") >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    die "failed: $* (full output in $logf)"
  fi
}

elapsed() { printf '%ds' "$(( $(date +%s) - $1 ))"; }

# Build into a temp file beside the target, then rename: a killed build leaves no half binary.
go_build() { # <wrapper dir> <output path> <ldflags> <tags> <package>
  local dir="$1" out="$2" ldflags="$3" tags="$4" pkg="$5" tmp
  tmp="$(mktemp "$out.tmp.XXXXXX")"
  if ! (cd "$dir" && "${NICE[@]}" go build "${PFLAG[@]}" -trimpath ${tags:+-tags="$tags"} -ldflags="$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "go build $pkg failed (see above)"
  fi
  chmod 0755 "$tmp"
  mv -f "$tmp" "$out"
}

# Recreate a wrapper module from scratch (go.sum is kept: it only ever pins verified hashes).
fresh_module() { # <dir> <module path>
  local dir="$1" mod="$2"
  mkdir -p "$dir"
  rm -f "$dir/go.mod"
  (cd "$dir" && go mod init "$mod" >/dev/null 2>&1)
}

# --- etcd ------------------------------------------------------------------------------------------
build_etcd() {
  local t0 dir="$SRC/etcd-$ETCD_VERSION"
  t0=$(date +%s)
  log "etcd $ETCD_VERSION: preparing wrapper module in $dir"
  fresh_module "$dir" kube-kmip.invalid/envtest-etcd
  # server/v3's own go.mod has directory replaces, which go ignores for a dependency: the wrapper
  # needs none. Name the exact version: a bare `go get -tool pkg` would mean @upgrade.
  quiet "$dir" "$dir/go-get.log" "${NICE[@]}" go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  log "etcd $ETCD_VERSION: building"
  go_build "$dir" "$OUT/etcd" "-s -w" "" go.etcd.io/etcd/server/v3
  printf '%s\n' "$ETCD_VERSION" >"$ETCD_STAMP"
  log "etcd $ETCD_VERSION: built in $(elapsed "$t0") ($(du -h "$OUT/etcd" | cut -f1))"
}

# --- kube-apiserver / kube-controller-manager ------------------------------------------------------
KUBE_DIR="$SRC/kubernetes-$K8S_VERSION"
KUBE_READY=""
prepare_kube() {
  [[ -n "$KUBE_READY" ]] && return 0
  local t0 info gomod mods m line
  t0=$(date +%s)
  log "kubernetes $K8S_VERSION: fetching its go.mod"
  if ! info="$(cd "$SRC" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>&1)"; then
    printf '%s\n' "$info" >&2
    die "cannot download k8s.io/kubernetes@$K8S_VERSION (does the module proxy serve that release? go list -m -versions k8s.io/kubernetes)"
  fi
  gomod="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || die "go mod download gave no GoMod for k8s.io/kubernetes@$K8S_VERSION"
  BUILD_DATE="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Time": "\(.*\)",\{0,1\}$/\1/p')"
  if [[ -z "$BUILD_DATE" ]]; then
    local infofile
    infofile="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p')"
    BUILD_DATE="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$infofile" 2>/dev/null || true)"
  fi
  # Every `k8s.io/<m> => ./staging/...` replace in the release's go.mod.
  mods="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")"
  [[ -n "$mods" ]] || die "no staging replaces found in $gomod"
  log "kubernetes $K8S_VERSION: $(printf '%s\n' "$mods" | wc -l) staging modules -> $STAGING_VERSION"

  fresh_module "$KUBE_DIR" kube-kmip.invalid/envtest-kubernetes
  local args=(-require="k8s.io/kubernetes@$K8S_VERSION")
  for m in $mods; do args+=(-replace="$m=$m@$STAGING_VERSION"); done
  # Same default GODEBUG settings as the release (its `godebug` lines/blocks).
  while IFS= read -r line; do
    [[ -n "$line" ]] && args+=(-godebug="$line")
  done < <(awk '
    /^godebug[[:space:]]*\(/ { inblk=1; next }
    inblk && /^\)/ { inblk=0; next }
    inblk { gsub(/^[[:space:]]+|[[:space:]]+$/, ""); if ($0 != "" && $0 !~ /^\/\//) print; next }
    /^godebug[[:space:]]+[^(]/ { sub(/^godebug[[:space:]]+/, ""); print }
  ' "$gomod")
  (cd "$KUBE_DIR" && go mod edit "${args[@]}")
  log "kubernetes $K8S_VERSION: resolving dependencies (go get -tool)"
  quiet "$KUBE_DIR" "$KUBE_DIR/go-get.log" "${NICE[@]}" go get -tool \
    "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION"
  # go get must not have moved kubernetes off the pinned release.
  local got
  got="$(cd "$KUBE_DIR" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
  [[ "$got" == "$K8S_VERSION" ]] || die "wrapper resolved k8s.io/kubernetes $got, wanted $K8S_VERSION"
  local x=() p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    # gitCommit is unknown from the module proxy: blank it rather than leave '$Format:%H$'.
    x+=("-X '$p.gitVersion=$K8S_VERSION'" "-X '$p.gitMajor=1'" "-X '$p.gitMinor=$K8S_MINOR'"
        "-X '$p.gitTreeState=clean'" "-X '$p.gitCommit='")
    [[ -n "$BUILD_DATE" ]] && x+=("-X '$p.buildDate=$BUILD_DATE'")
  done
  KUBE_LDFLAGS="-s -w ${x[*]}"
  KUBE_READY=1
  log "kubernetes $K8S_VERSION: wrapper module ready in $(elapsed "$t0")"
}

build_kube() { # <binary name>
  local name="$1" t0
  prepare_kube
  t0=$(date +%s)
  log "$name $K8S_VERSION: building (nice 19, this takes a while cold)"
  go_build "$KUBE_DIR" "$OUT/$name" "$KUBE_LDFLAGS" "selinux,notest,grpcnotrace" "k8s.io/kubernetes/cmd/$name"
  log "$name $K8S_VERSION: built in $(elapsed "$t0") ($(du -h "$OUT/$name" | cut -f1))"
}

T_ALL=$(date +%s)
# Resolve the kubernetes wrapper first: a bad version fails in seconds, not after building etcd.
if [[ ! -x "$OUT/kube-apiserver" || ! -x "$OUT/kube-controller-manager" ]]; then
  prepare_kube
fi
if [[ ! -x "$OUT/etcd" || "$(cat "$ETCD_STAMP" 2>/dev/null)" != "$ETCD_VERSION" ]]; then
  rm -f "$ETCD_STAMP"
  build_etcd
fi
for b in kube-apiserver kube-controller-manager; do
  [[ -x "$OUT/$b" ]] || build_kube "$b"
done
have_all || die "build finished but $OUT is incomplete"
log "all binaries ready in $OUT (total $(elapsed "$T_ALL"))"
printf '%s\n' "$OUT"
