#!/usr/bin/env bash
# npm run observe: the local observability stack, added to the stack of process-compose.yaml
# (README "Local observability"). Prometheus (Debian's) scraping every service, the exporters and
# itself, with the rules of observability/rules/; the Redis, nginx and Cassandra exporters; Jaeger
# all-in-one receiving OTLP. All on loopback, on the ports of infra/stack.env. Off unless asked for:
# nothing of it is installed, built or started before the first `npm run observe` or
# `npm start -- --observe` (which runs this), and then only into .cache/.
#
#   scripts/observe.sh [up]    install or build what is missing, start what is not running, print the URLs
#   scripts/observe.sh tools   only install or build (a few minutes the first time: Jaeger is a large build)
#   scripts/observe.sh start   only start what is not running (npm start -- --observe, after tools)
#   scripts/observe.sh down    stop it; the rest of the stack runs on
#
# It watches whatever runs: start the services (npm start) or not, Prometheus shows what is up.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG=observe
cd "$ROOT"

tools() {
  bash "$ROOT/scripts/ensure-tools.sh" system npm prometheus redis-exporter
  "$ROOT/node_modules/node/bin/node" "$ROOT/scripts/tools.ts" jaeger nginx-exporter jmx-exporter >/dev/null ||
    die "installing the observability tools failed (see above)"
}

# A stack started before the observability stack was declared has a process-compose server that
# does not know its processes: say so rather than fail on an unknown name.
known() {
  ! pc_alive && return 0
  [[ "$(pc process list -o json 2>/dev/null | jq -r '.[].name' | grep -cxF -f <(printf '%s\n' "${OBSERVE_PARTS[@]}"))" == "${#OBSERVE_PARTS[@]}" ]] ||
    die "the running stack was started from an older process-compose.yaml without the observability stack: npm stop, then npm start -- --observe"
}

case "${1:-up}" in
  up)
    tools
    known
    stack_up "${OBSERVE_PARTS[@]}"
    printf '\n  Observability is up.\n%s\n    Stop it:    npm run observe -- down\n\n' "$(observe_urls)"
    ;;
  tools) tools ;;
  start) known; stack_up "${OBSERVE_PARTS[@]}" ;;
  down) stack_stop "${OBSERVE_PARTS[@]}" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
