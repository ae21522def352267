#!/usr/bin/env bash
# npm stop: stops everything of the local stack that this project started: first the Node
# services (SIGTERM, up to 15 s to drain, then SIGKILL), then nginx, Redis and Cassandra.
# Only processes recorded in .run/pids/ (and verified, see lib.sh) are ever signalled.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# Every pidfile that is not an infra part belongs to a service started by start.sh.
service_names() {
  local f name
  for f in "$PID_DIR"/*.pid; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f" .pid)
    [[ " ${INFRA_PARTS[*]} " == *" $name "* ]] || printf '%s\n' "$name"
  done
}

main() {
  local names name
  mapfile -t names < <(service_names)
  if ((${#names[@]})); then
    # In parallel: each one may use its whole drain period.
    for name in "${names[@]}"; do stop_pid "$name" 15 & done
    wait
  else
    log "services: none running"
  fi
  bash "$ROOT/scripts/infra.sh" down
}

main "$@"
