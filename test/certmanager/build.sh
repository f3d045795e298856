#!/usr/bin/env bash
# Builds cert-manager's controller from Go modules, with the CRDs of the same release, and caches
# them OUTSIDE the repository:
#
#   ${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/cert-manager/<version>/
#     cert-manager-controller   the controller (./controller/main.go linked against the release)
#     crds/*.yaml               certificates, certificaterequests, issuers, clusterissuers, orders,
#                               challenges: deploy/crds/ of the release's module, as they are
#
# On success the only thing printed on stdout is that directory (callers read it); progress goes to
# stderr. Idempotent: nothing is rebuilt while the stamp matches (release + launcher sources).
# Concurrency-safe: the build runs under an flock on the cache, files are moved into place atomically.
#
# Why ./controller and not upstream's cmd/controller: that main package is a module of its own
# (github.com/cert-manager/cert-manager/controller-binary) whose path does not match where it lives,
# so the module proxy cannot serve it. The release's main module has every controller and issuer;
# ./controller/main.go (ours) starts the ones issuing from CA and SelfSigned issuers need.
#
# Environment:
#   CERT_MANAGER_ASSETS   directory already holding cert-manager-controller and crds/: use it, build nothing
#   KUBE_KMIP_CACHE       cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip)
#   CERT_MANAGER_VERSION  github.com/cert-manager/cert-manager release (default: the one ./controller/go.mod requires)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAUNCHER="$HERE/controller"
MODULE="github.com/cert-manager/cert-manager"
CRDS=(cert-manager.io_certificates cert-manager.io_certificaterequests cert-manager.io_issuers cert-manager.io_clusterissuers
      acme.cert-manager.io_orders acme.cert-manager.io_challenges)

log() { printf '[cert-manager/build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_assets() { # <dir>
  local c
  [[ -x "$1/cert-manager-controller" ]] || return 1
  for c in "${CRDS[@]}"; do [[ -s "$1/crds/$c.yaml" ]] || return 1; done
}

if [[ -n "${CERT_MANAGER_ASSETS:-}" ]]; then
  have_assets "$CERT_MANAGER_ASSETS" || die "CERT_MANAGER_ASSETS=$CERT_MANAGER_ASSETS lacks cert-manager-controller or crds/*.yaml"
  log "using CERT_MANAGER_ASSETS=$CERT_MANAGER_ASSETS"
  printf '%s\n' "$CERT_MANAGER_ASSETS"
  exit 0
fi

PINNED="$(sed -n 's#^[[:space:]]*github\.com/cert-manager/cert-manager[[:space:]]\{1,\}\(v[^[:space:]]*\).*#\1#p' "$LAUNCHER/go.mod" | head -n 1)"
[[ -n "$PINNED" ]] || die "$LAUNCHER/go.mod does not require $MODULE"
VERSION="${CERT_MANAGER_VERSION:-$PINNED}"
[[ "$VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "CERT_MANAGER_VERSION must look like v1.Y.Z, got $VERSION"

CACHE_ROOT="${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/cert-manager"
OUT="$CACHE_ROOT/$VERSION"
STAMP_FILE="$OUT/.stamp"
# The launcher's sources are part of what was built: editing them rebuilds.
STAMP="$VERSION $(cat "$LAUNCHER/main.go" "$LAUNCHER/go.mod" "$LAUNCHER/go.sum" | sha256sum | cut -c1-16)"

fresh() { have_assets "$OUT" && [[ "$(cat "$STAMP_FILE" 2>/dev/null)" == "$STAMP" ]]; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/build-cache.sh"
reuse_or_lock fresh "$OUT"

command -v go >/dev/null || die "go is not on PATH (needed to build cert-manager)"
mkdir -p "$OUT"
rm -f "$STAMP_FILE" "$OUT"/*.tmp.*

export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
# The launcher's go.mod/go.sum pin the release and every dependency; flags from the caller's
# environment (-mod=vendor, -tags ...) must not leak in.
export GOFLAGS="-mod=mod -buildvcs=false"
t0=$(date +%s)

# Build in a copy of the launcher module: the repository stays untouched (go may rewrite go.mod
# when CERT_MANAGER_VERSION overrides the pinned release).
WORK="$OUT/src"
rm -rf "$WORK"
mkdir -p "$WORK"
cp "$LAUNCHER/main.go" "$LAUNCHER/go.mod" "$LAUNCHER/go.sum" "$WORK/"
if [[ "$VERSION" != "$PINNED" ]]; then
  log "cert-manager $VERSION (overriding $PINNED): resolving dependencies"
  (cd "$WORK" && go get "$MODULE@$VERSION" >&2 && go mod tidy >&2) || die "cannot resolve $MODULE@$VERSION"
fi

log "cert-manager $VERSION: fetching the module"
if ! info="$(cd "$WORK" && go mod download -json "$MODULE@$VERSION" 2>&1)"; then
  printf '%s\n' "$info" >&2
  die "cannot download $MODULE@$VERSION (does the module proxy serve it? go list -m -versions $MODULE)"
fi
dir="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -d "$dir/deploy/crds" ]] || die "$MODULE@$VERSION has no deploy/crds directory (looked in '$dir')"

mkdir -p "$OUT/crds"
for c in "${CRDS[@]}"; do
  src="$dir/deploy/crds/$c.yaml"
  [[ -s "$src" ]] || die "$MODULE@$VERSION lacks deploy/crds/$c.yaml"
  # deploy/crds/ holds plain controller-gen output; a templated file would not be valid for the API.
  if grep -q '{{' "$src"; then die "deploy/crds/$c.yaml is Helm-templated in $VERSION; render it before use"; fi
  tmp="$(mktemp "$OUT/crds/$c.yaml.tmp.XXXXXX")"
  cp "$src" "$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$OUT/crds/$c.yaml"
done

log "cert-manager $VERSION: building the controller (nice 19; several minutes cold)"
ldflags="-s -w -X $MODULE/pkg/util.AppVersion=$VERSION -X $MODULE/pkg/util.AppGitState=clean"
tmp="$(mktemp "$OUT/cert-manager-controller.tmp.XXXXXX")"
if ! (cd "$WORK" && nice -n 19 go build -trimpath -ldflags="$ldflags" -o "$tmp" .); then
  rm -f "$tmp"
  die "go build of the cert-manager controller failed (see above)"
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$OUT/cert-manager-controller"
"$OUT/cert-manager-controller" --help >/dev/null 2>&1 || die "the built cert-manager-controller does not run"
printf '%s\n' "$STAMP" >"$STAMP_FILE"
log "cert-manager $VERSION: built in $(( $(date +%s) - t0 ))s ($(du -h "$OUT/cert-manager-controller" | cut -f1))"
printf '%s\n' "$OUT"
