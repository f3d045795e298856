#!/usr/bin/env bash
# Builds the Helm CLI from Go modules and caches it OUTSIDE the repository:
#
#   ${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/helm/<version>/helm
#
# On success the only thing printed on stdout is the path of the helm binary (callers read it);
# progress goes to stderr. Idempotent: a binary that already exists is not rebuilt. Concurrency-
# safe: the build runs under an flock on the cache and the binary is moved into place atomically.
#
# The binary is stamped the way Helm's Makefile stamps a release: its version, and the Kubernetes
# version `helm template`/`helm lint` assume (.Capabilities.KubeVersion), derived from the
# k8s.io/client-go version in Helm's own go.mod.
#
# Environment:
#   HELM_BIN         an existing helm binary: use it, build nothing
#   KUBE_KMIP_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip)
#   HELM_VERSION     helm.sh/helm/v3 release to build (default below)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
MODULE="helm.sh/helm/v3"

log() { printf '[helm/build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -n "${HELM_BIN:-}" ]]; then
  [[ -x "$HELM_BIN" ]] || die "HELM_BIN=$HELM_BIN is not an executable file"
  log "using HELM_BIN=$HELM_BIN"
  printf '%s\n' "$HELM_BIN"
  exit 0
fi

[[ "$HELM_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "HELM_VERSION must look like v3.Y.Z, got $HELM_VERSION"

CACHE_ROOT="${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/helm"
OUT="$CACHE_ROOT/$HELM_VERSION"
BIN="$OUT/helm"

built() { [[ -x "$BIN" ]]; }
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build-cache.sh"
reuse_or_lock built "$BIN"

command -v go >/dev/null || die "go is not on PATH (needed to build helm)"
mkdir -p "$OUT"

export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
# `go install pkg@version` resolves Helm's own go.mod (with its go.sum) outside any module; flags
# from the caller's environment (-mod=vendor, -tags ...) must not leak in.
export GOFLAGS=-mod=mod
t0=$(date +%s)

log "helm $HELM_VERSION: fetching the module"
if ! info="$(cd "$OUT" && go mod download -json "$MODULE@$HELM_VERSION" 2>&1)"; then
  printf '%s\n' "$info" >&2
  die "cannot download $MODULE@$HELM_VERSION"
fi
gomod="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$gomod" ]] || die "go mod download gave no GoMod for $MODULE@$HELM_VERSION"

# Helm's Makefile: Kubernetes major = client-go major + 1, minor = client-go minor.
clientgo="$(sed -n 's#^[[:space:]]*k8s\.io/client-go[[:space:]]\{1,\}v\([0-9]\{1,\}\)\.\([0-9]\{1,\}\)\..*#\1 \2#p' "$gomod" | head -n 1)"
[[ -n "$clientgo" ]] || die "no k8s.io/client-go requirement in $gomod"
read -r cg_major cg_minor <<<"$clientgo"
k8s_major=$((cg_major + 1))
k8s_minor="$cg_minor"

ldflags="-s -w -X $MODULE/internal/version.version=$HELM_VERSION -X $MODULE/internal/version.gitTreeState=clean"
for p in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X $MODULE/$p.k8sVersionMajor=$k8s_major -X $MODULE/$p.k8sVersionMinor=$k8s_minor"
done

log "helm $HELM_VERSION: building (nice 19; a few minutes cold, Kubernetes v$k8s_major.$k8s_minor assumed by templates)"
tmpbin="$(mktemp -d "$OUT/.gobin.XXXXXX")"
trap 'rm -rf "$tmpbin"' EXIT
if ! GOBIN="$tmpbin" nice -n 19 go install -trimpath -ldflags="$ldflags" "$MODULE/cmd/helm@$HELM_VERSION"; then
  die "go install $MODULE/cmd/helm@$HELM_VERSION failed (see above)"
fi
[[ -x "$tmpbin/helm" ]] || die "go install produced no helm binary"
mv -f "$tmpbin/helm" "$BIN"
"$BIN" version --short >/dev/null || die "the built helm does not run"
log "helm $HELM_VERSION: built in $(( $(date +%s) - t0 ))s ($(du -h "$BIN" | cut -f1)): $("$BIN" version --short)"
printf '%s\n' "$BIN"
