#!/usr/bin/env bash
# Builds the Go interop programs of test/interop/go into a per-user cache OUTSIDE the repository:
#
#   ${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/interop-go/<source hash>/
#     kmipcheck            ovh/kmip-go scenarios (cmd/kmipcheck)
#     sealcheck            OpenBao's KMIP seal wrapper round trips (cmd/sealcheck)
#     kmip-wrapper.test    the wrapper's own test binary (TestAcckmipWrapper_Lifecycle)
#
# The hash covers go.mod, go.sum, every *.go file, this script and `go version`: an unchanged
# tree is not rebuilt (the fast path needs no lock and no network). Modules come from the Go module
# proxy into the Go module cache; go.sum is checked in and the build runs with -mod=readonly, so a
# missing or tampered module fails the build instead of being fetched or re-resolved.
#
# On success the only thing printed on stdout is that directory; progress goes to stderr. Exits
# non-zero (and says why) when Go is missing or a module cannot be had.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BINARIES=(kmipcheck sealcheck kmip-wrapper.test)
WRAPPER_PKG=github.com/openbao/go-kms-wrapping/wrappers/kmip/v2

log() { printf '[interop-go/build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH (Go 1.24 or newer is needed for the Go interop suite)"
command -v sha256sum >/dev/null || die "sha256sum is not on PATH (coreutils)"

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="-mod=readonly${GOFLAGS:+ $GOFLAGS}"
export CGO_ENABLED=0

hash_sources() {
  (
    cd "$HERE"
    go version
    # Every input, by path and content, in a stable order.
    find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh \) -print0 |
      LC_ALL=C sort -z |
      xargs -0 sha256sum
  ) | sha256sum | cut -c1-16
}

HASH="$(hash_sources)"
CACHE_ROOT="${KUBE_KMIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-kmip}/interop-go"
OUT="$CACHE_ROOT/$HASH"

have_all() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}

source "$(dirname "${BASH_SOURCE[0]}")/../../lib/build-cache.sh"
reuse_or_lock have_all "$OUT"

mkdir -p "$OUT"
rm -f "$OUT"/*.tmp.*

t0=$(date +%s)
log "building into $OUT (go: $(go version | cut -d' ' -f3))"
if ! (cd "$HERE" && go mod download >"$OUT/download.log" 2>&1); then
  tail -n 30 "$OUT/download.log" >&2
  die "go mod download failed: are the modules pinned in go.mod served by the module proxy ($(go env GOPROXY))? (full log: $OUT/download.log)"
fi
(cd "$HERE" && go mod verify >&2) || die "go mod verify failed: the module cache does not match go.sum"

# Build into a temp file beside the target, then rename: a killed build leaves no half binary.
build() { # <output name> <package> <go subcommand...>
  local name="$1" pkg="$2" tmp; shift 2
  tmp="$(mktemp "$OUT/$name.tmp.XXXXXX")"
  if ! (cd "$HERE" && go "$@" -trimpath -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "go $* $pkg failed (see above)"
  fi
  chmod 0755 "$tmp"
  mv -f "$tmp" "$OUT/$name"
}
build kmipcheck ./cmd/kmipcheck build
build sealcheck ./cmd/sealcheck build
build kmip-wrapper.test "$WRAPPER_PKG" test -c
have_all || die "build finished but $OUT is incomplete"

# Drop builds of older sources (keep the current one; leave any other still being written alone).
for d in "$CACHE_ROOT"/*/; do
  d="${d%/}"
  [[ "$d" == "$OUT" ]] && continue
  [[ -n "$(find "$d" -maxdepth 0 -mmin +60 2>/dev/null)" ]] && rm -rf "$d"
done

log "built in $(( $(date +%s) - t0 ))s"
printf '%s\n' "$OUT"
