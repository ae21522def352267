#!/usr/bin/env bash
# The expensive reliability suites, each on Cassandra nodes of its own (scripts/cluster.sh), never
# on the local stack of `npm start`, which keeps running undisturbed:
#
#   scripts/faults.sh faults    npm run test:faults    one node; Redis, Cassandra and every service
#                                                      killed, paused and stopped under load, then
#                                                      schemathesis on the OpenAPI document
#                                                      -> reports/faults.json, reports/fuzz.json
#   scripts/faults.sh cluster   npm run test:cluster   three nodes, RF 3, LOCAL_QUORUM; one node
#                                                      killed under load and brought back
#                                                      -> reports/cluster.json
#
# Either way the figures of the run, passed or failed, are then written into docs/reliability.md
# between its markers (tests/faults/write-reliability-doc.ts), so the page always shows the last run.
#
# Works from a fresh clone (installs what is missing, like npm test). Nodes this run had to start
# are stopped again at the end; running ones are reused and left running. SW_KEEP_NODES=1 keeps
# the started ones too (a second run then skips their start-up).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

SUITE=${1:-faults}
[[ "$SUITE" == faults || "$SUITE" == cluster ]] || die "usage: faults.sh faults|cluster"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="test:$SUITE"
CLUSTER=("$ROOT/scripts/cluster.sh" --profile "$SUITE")
STARTED=0

# `down` ends the profile's whole process-compose server: what a failed suite left there goes too.
finish() {
  local rc=$?
  trap - EXIT
  if ((STARTED)) && [[ -z "${SW_KEEP_NODES:-}" ]]; then bash "${CLUSTER[@]}" down || true; fi
  exit "$rc"
}

main() {
  cd "$ROOT"
  trap finish EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  bash "$ROOT/scripts/ensure-tools.sh" system cassandra npm

  bash "${CLUSTER[@]}" status >/dev/null 2>&1 || STARTED=1
  bash "${CLUSTER[@]}" up
  local t0 rc=0
  t0=$(now)
  # A report left by an earlier run must not be shown as this run's figures.
  if [[ "$SUITE" == faults ]]; then rm -f reports/faults.json reports/fuzz.json; else rm -f reports/cluster.json; fi
  npx --no vitest run --project "$SUITE" || rc=$?
  node "$ROOT/tests/faults/write-reliability-doc.ts" "$SUITE" || { ((rc)) || rc=1; }
  if ((rc)); then
    log "FAILED (exit $rc) after $(elapsed "$t0"); figures in reports/$SUITE.json and docs/reliability.md"
    exit "$rc"
  fi
  log "passed in $(elapsed "$t0"); figures in reports/$SUITE.json and docs/reliability.md"
}

main "$@"
