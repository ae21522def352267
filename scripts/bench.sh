#!/usr/bin/env bash
# npm run bench: the side-by-side benchmark (load-tests/bench/bench.ts) on this machine; writes
# docs/benchmarks.md and reports/bench-<time>.json. Takes about 15 minutes (the first run also
# seeds a million links). Options: --rounds N, --seconds N, --quick (see bench.ts).
# It drives the local stack (starts it when needed, restarts services with the settings each
# measurement needs) and needs wrk (installed from Debian when missing) and k6 (scripts/ensure-k6.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="bench"

if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; } >"$CACHE_DIR/apt-wrk.log" 2>&1 ||
    { show_tail 20 "$CACHE_DIR/apt-wrk.log"; die "could not install wrk"; }
fi
bash "$ROOT/scripts/ensure-k6.sh" >/dev/null
cd "$ROOT"
exec node load-tests/bench/bench.ts "$@"
