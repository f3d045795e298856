# Sourced by the build scripts that put Go-built tools into the per-user cache (test/envtest, test/helm,
# test/certmanager, test/interop/go). The caller defines log and die and sets CACHE_ROOT.
#
#   reuse_or_lock FRESH WHAT
#
# When the command FRESH succeeds, the cache already holds the build: prints WHAT (the path callers read on
# stdout) and exits the script. Otherwise takes $CACHE_ROOT/.lock (fd 9, held until the script exits), waiting for
# a concurrent build if there is one, and checks FRESH again, so two runs never build the same thing twice. Returns
# with the lock held when the caller has to build.
reuse_or_lock() {
  local fresh="$1" what="$2"
  if "$fresh"; then
    log "cached: $what"
    printf '%s\n' "$what"
    exit 0
  fi
  command -v flock >/dev/null || die "flock is not on PATH (util-linux)"
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE_ROOT/.lock; waiting for it"
    flock 9
  fi
  if "$fresh"; then
    log "cached (built by a concurrent run): $what"
    printf '%s\n' "$what"
    exit 0
  fi
}
