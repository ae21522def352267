#!/usr/bin/env bash
# Builds the pinned k6 (load-tests/k6-build/go.mod) into .cache/tools/bin/k6 unless that exact
# build is already there. Prints the binary's path on stdout; everything else goes to stderr.
#
# Why a go.mod and not `go install go.k6.io/k6/v2@v2.2.0`: `go install pkg@version` insists on
# the module proxy's version list, which is missing for this module; building from a pinned
# go.mod (with go.sum) needs only the module zips. Needs Go >= 1.25; about 1.5 min cold.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="k6"

BUILD_DIR="$ROOT/load-tests/k6-build"
BIN="$CACHE_DIR/tools/bin/k6"
# The stamp records which go.mod/go.sum the binary was built from: a changed pin rebuilds.
STAMP="$BIN.stamp"

pin_hash() { cat "$BUILD_DIR/go.mod" "$BUILD_DIR/go.sum" | sha256sum | cut -d' ' -f1; }

pinned_version() { awk '$1 == "require" && $2 == "go.k6.io/k6/v2" { print $3 }' "$BUILD_DIR/go.mod"; }

# True when the binary is the pinned build: same stamp, or (built before stamps existed) the same version.
up_to_date() {
  [[ -x "$BIN" ]] || return 1
  [[ -f "$STAMP" ]] && { [[ "$(<"$STAMP")" == "$1" ]]; return; }
  "$BIN" version 2>/dev/null | grep -q "^k6 $(pinned_version) " && printf '%s\n' "$1" >"$STAMP"
}

main() {
  local want
  want=$(pin_hash)
  if up_to_date "$want"; then
    printf '%s\n' "$BIN"
    return 0
  fi
  command -v go >/dev/null || die "k6 must be built, and that needs Go >= 1.25 (https://go.dev/dl, or the golang Debian package when it is new enough)"
  log "building k6 from load-tests/k6-build/go.mod into ${BIN#"$ROOT"/} (about 1.5 min the first time)" >&2
  local t0
  t0=$(now)
  mkdir -p "$(dirname "$BIN")" "$CACHE_DIR/go"
  (
    cd "$BUILD_DIR"
    GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOFLAGS=-mod=mod GOTOOLCHAIN=local \
      GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" CGO_ENABLED=0 \
      go build -trimpath -ldflags='-s -w' -o "$BIN.tmp" go.k6.io/k6/v2
  ) >"$CACHE_DIR/go/k6-build.log" 2>&1 || { show_tail 30 "$CACHE_DIR/go/k6-build.log"; die "building k6 failed (log: .cache/go/k6-build.log)"; }
  mv -f "$BIN.tmp" "$BIN"
  printf '%s\n' "$want" >"$STAMP"
  log "k6 ready: $("$BIN" version | head -1) ($(elapsed "$t0"))" >&2
  printf '%s\n' "$BIN"
}

main "$@"
