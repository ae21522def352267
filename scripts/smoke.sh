#!/usr/bin/env bash
# The smoke step of npm test: the k6 smoke scenario (load-tests/smoke.js) through nginx against
# the running stack, with thresholds on errors and checks only, never on timing. Services that
# are not running are started the way `npm start -- --detach` starts them, and stopped again
# afterwards; running ones are reused and left alone. Infra (Cassandra, Redis, nginx) is the
# caller's: npm test brings it up before this step.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="smoke"

STARTED=()

finish() {
  local rc=$?
  trap - EXIT
  if ((${#STARTED[@]})); then
    log "stopping the services this step started: ${STARTED[*]}"
    stack_stop "${STARTED[@]}"
  fi
  exit "$rc"
}

main() {
  cd "$ROOT"
  local k6 name
  k6=$(bash "$ROOT/scripts/ensure-k6.sh")
  for name in "${SERVICES[@]}"; do stack_running "$name" || STARTED+=("$name"); done
  trap finish EXIT
  ((${#STARTED[@]} == 0)) || bash "$ROOT/scripts/start.sh" --detach >/dev/null
  mkdir -p "$ROOT/reports"
  K6_NO_USAGE_REPORT=true K6_AUTO_EXTENSION_RESOLUTION=false "$k6" run --quiet --no-color \
    --summary-export "$ROOT/reports/smoke-test.json" -e TIMING=off \
    -e BASE_URL="http://localhost:$NGINX_PORT" "$ROOT/load-tests/smoke.js"
}

main "$@"
