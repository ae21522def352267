#!/usr/bin/env bash
# Readiness of a node started by run.sh: ready.sh NODE_DIR ADDRESS CQL_PORT. The CQL port accepts
# connections AND this start's system.log says so (the port alone opens a moment before queries work).
set -eu # no pipefail: grep -q ends the pipe early, on purpose
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
log_since "$1/logs/system.log" "$(cat "$1/logs/start-offset" 2>/dev/null || echo 0)" | grep -q 'Starting listening for CQL clients'
