#!/usr/bin/env bash
# The offline validators for the deployment files (Dockerfiles, compose.yaml, k8s/), built from
# the pinned Go modules in deploy-check/ with the machine's Go toolchain and the Go module proxy.
# Every run starts from a fresh machine, so this builds what is missing, caches modules, build
# cache and binaries under .cache/, and is quick and silent when everything is current.
#
#   scripts/deploy-check.sh [build]      build or refresh every validator (the tests call this)
#   scripts/deploy-check.sh bin NAME     build if needed, then print the path of NAME
#   scripts/deploy-check.sh check        run every check once, for people (npm test runs tests/deploy)
#
# Validators (each a module in deploy-check/<dir>, rebuilt when its sources or Go change):
#   kustomize         sigs.k8s.io/kustomize/kustomize/v5, renders k8s/overlays/*
#   kubevalidate      strict decoding with client-go's API types + apimachinery name/label rules
#   compose-check     compose-go, the loader of `docker compose`: schema, interpolation, consistency
#   dockerfile-check  BuildKit's Dockerfile frontend: build checks, image config, COPY sources
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.cache/tools/bin"
TOOLS=(kustomize kubevalidate compose-check dockerfile-check)

log() { printf '[shortwave deploy-check] %s\n' "$*" >&2; }
die() { printf '[shortwave deploy-check] ERROR: %s\n' "$*" >&2; exit 1; }

module_of() {
  case "$1" in
    kustomize) echo kustomize ;;
    kubevalidate) echo kubevalidate ;;
    compose-check) echo compose ;;
    dockerfile-check) echo dockerfile ;;
    *) die "unknown validator '$1' (expected one of: ${TOOLS[*]})" ;;
  esac
}

# What `go build` builds in that module: its own main package, or a pinned tool.
package_of() {
  case "$1" in
    kustomize) echo sigs.k8s.io/kustomize/kustomize/v5 ;;
    *) echo . ;;
  esac
}

go_env() {
  if ! command -v go >/dev/null; then
    [[ -x /usr/local/go/bin/go ]] || die "no Go toolchain on PATH (needs go >= 1.26)"
    PATH="/usr/local/go/bin:$PATH"
  fi
  export GOPROXY=https://proxy.golang.org
  export GOMODCACHE="$ROOT/.cache/go/mod"
  export GOCACHE="$ROOT/.cache/go/build"
  # The versions are the ones in deploy-check/*/go.sum; never a newer toolchain or module.
  export GOFLAGS=-mod=readonly
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
}

# A stamp of everything a binary is built from: the Go version and its module's files.
stamp_of() {
  local dir
  dir="$ROOT/deploy-check/$(module_of "$1")"
  { go version; cat "$ROOT/scripts/deploy-check.sh" "$dir"/go.mod "$dir"/go.sum "$dir"/*.go; } | sha256sum | cut -d' ' -f1
}

build_one() {
  local tool=$1 dir stamp
  dir="$ROOT/deploy-check/$(module_of "$tool")"
  stamp=$(stamp_of "$tool")
  if [[ -x "$BIN/$tool" && -f "$BIN/$tool.stamp" && "$(cat "$BIN/$tool.stamp")" == "$stamp" ]]; then
    return 0
  fi
  log "building $tool (deploy-check/$(module_of "$tool"))"
  local t0=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$BIN/$tool.tmp" "$(package_of "$tool")") >"$BIN/$tool.log" 2>&1 || {
    cat "$BIN/$tool.log" >&2
    die "go build of $tool failed"
  }
  mv "$BIN/$tool.tmp" "$BIN/$tool"
  printf '%s\n' "$stamp" >"$BIN/$tool.stamp"
  log "built $tool in $((SECONDS - t0))s"
}

build_all() {
  go_env
  mkdir -p "$BIN"
  # Test files run in parallel and all call this: one builds, the others wait and then find
  # everything current.
  exec 9>"$BIN/.deploy-check.lock"
  flock 9
  local tool pids=() failed=0
  # In parallel: the big single packages (k8s.io/api groups, BuildKit) each keep one core busy.
  for tool in "${TOOLS[@]}"; do
    build_one "$tool" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  flock -u 9
  ((failed == 0)) || die "some validators did not build"
}

check_all() {
  build_all
  cd "$ROOT"
  local out="$ROOT/.cache/deploy-check"
  mkdir -p "$out"
  local overlay
  for overlay in k8s/overlays/*/; do
    overlay=${overlay%/}
    log "kustomize build $overlay | kubevalidate"
    "$BIN/kustomize" build "$overlay" >"$out/$(basename "$overlay").yaml"
    "$BIN/kubevalidate" "$out/$(basename "$overlay").yaml"
  done
  log "compose-check compose.yaml"
  "$BIN/compose-check" compose.yaml >/dev/null
  log "dockerfile-check"
  "$BIN/dockerfile-check" -context . -- */Dockerfile >"$out/dockerfiles.json"
  log "ok (the full set of assertions is: npx vitest run tests/deploy)"
}

case "${1:-build}" in
  build) build_all ;;
  bin)
    [[ $# -eq 2 ]] || die "usage: $0 bin NAME"
    module_of "$2" >/dev/null
    build_all
    printf '%s\n' "$BIN/$2"
    ;;
  check) check_all ;;
  *) die "usage: $0 [build | bin NAME | check]" ;;
esac
