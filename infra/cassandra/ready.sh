#!/usr/bin/env bash
# Readiness of a node started by run.sh: ready.sh NODE_DIR ADDRESS CQL_PORT. The CQL port accepts
# connections AND this start's system.log says so (the port alone opens a moment before queries work).
set -eu # no pipefail: grep -q ends the pipe early, on purpose
timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
offset=$(cat "$1/logs/start-offset" 2>/dev/null || echo 0)
# A log shorter than the offset was rolled over (system.log.1) since: this start's lines are all in it.
(($(stat -c %s "$1/logs/system.log" 2>/dev/null || echo 0) >= offset)) || offset=0
tail -c "+$((offset + 1))" "$1/logs/system.log" 2>/dev/null | grep -q 'Starting listening for CQL clients'
