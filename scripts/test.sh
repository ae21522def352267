#!/usr/bin/env bash
# npm test (and CI, .ci/run): typecheck, lint, unit/integration tests against the real Cassandra
# and Redis, the k6 smoke run, the tests that stop the shared Cassandra, then the expensive
# reliability suites on nodes of their own (scripts/faults.sh: faults and fuzz, then the
# three-node cluster). Fails fast. Infra this run had to start is stopped again as soon as nothing
# needs it; infra that was already running (e.g. `npm run infra up` for a warm Cassandra) is left
# alone.
#
#   scripts/test.sh          everything (npm test)
#   scripts/test.sh quick    typecheck, lint and the main vitest suite only (npm run test:quick)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="test"

INFRA="$ROOT/scripts/infra.sh"
STARTED_INFRA=()
TIMINGS=()
RUN_T0=$(now)

# What the tests connect to (testing/src/infra.ts).
export SW_TEST_CASSANDRA="127.0.0.1:$CASSANDRA_CQL_PORT"
export SW_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# npm scripts get node_modules/.bin on PATH anyway; this makes plain `node` the pinned Node 24 for
# everything else too (e.g. a bin's `#!/usr/bin/env node`).
export PATH="$ROOT/node_modules/.bin:$PATH"
# Every vitest run of this one leaves its results here (vitest.config.ts); finish() adds them up.
export SW_VITEST_RESULTS_DIR="$ROOT/reports/vitest"

# step NAME CMD...: runs one step, records its wall time, stops the run on failure.
step() {
  local name=$1
  shift
  log "── $name: $*"
  local t0 rc=0
  t0=$(now)
  "$@" || rc=$?
  TIMINGS+=("$(printf '%-14s %8s  %s' "$name" "$(elapsed "$t0")" "$( ((rc)) && echo "FAILED (exit $rc)" || echo ok)")")
  if ((rc)); then
    log "$name failed (exit $rc)"
    exit "$rc"
  fi
}

finish() {
  local rc=$?
  trap - EXIT
  stop_started_infra
  if ((${#TIMINGS[@]})); then
    printf '\nstep            wall time\n'
    printf '%s\n' "${TIMINGS[@]}"
    printf '%-14s %8s  %s\n\n' total "$(elapsed "$RUN_T0")" "$( ((rc)) && echo "FAILED (exit $rc)" || echo ok)"
  fi
  test_count
  exit "$rc"
}

# The run's closing line, alone and last: the tests of every vitest run of it, in the plain form
# CI reads ('N passed, N failed'), so one tool's summary in the middle (schemathesis prints
# pytest's) is not taken for the whole run's.
test_count() {
  local files=("$SW_VITEST_RESULTS_DIR"/*.json)
  [[ -e "${files[0]}" ]] || return 0
  jq -rs '"tests: \(map(.numPassedTests) | add) passed, \(map(.numFailedTests) | add) failed, " +
    "\(map(.numPendingTests + .numTodoTests) | add) skipped"' "${files[@]}"
}

stop_started_infra() {
  if ((${#STARTED_INFRA[@]})); then
    log "stopping the infra this run started: ${STARTED_INFRA[*]}"
    bash "$INFRA" down "${STARTED_INFRA[@]}" || true
    STARTED_INFRA=()
  fi
}

main() {
  local mode=${1:-all}
  case "$mode" in
    all | quick) ;;
    *) die "usage: test.sh [quick]" ;;
  esac
  cd "$ROOT"
  rm -rf "$SW_VITEST_RESULTS_DIR"
  trap finish EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  step ensure-tools bash "$ROOT/scripts/ensure-tools.sh"

  local part
  for part in "${INFRA_PARTS[@]}"; do
    bash "$INFRA" status "$part" >/dev/null || STARTED_INFRA+=("$part")
  done
  step infra-up bash "$INFRA" up cassandra redis nginx

  step typecheck npm run --silent typecheck
  step lint npm run --silent lint

  # Built before the tests so the cold Go build doesn't compete with them for the two cores (the
  # quick loop leaves it to tests/deploy, which build what is missing).
  [[ "$mode" == quick ]] || step deploy-tools node "$ROOT/scripts/deploy-check.ts" build

  step vitest npm run --silent vitest
  [[ "$mode" == quick ]] && return

  # k6 smoke scenario through nginx against the services (load-tests/run.ts):
  # thresholds on errors and checks only.
  step smoke node "$ROOT/load-tests/run.ts" smoke --npm-test

  step infra-stop npx --no vitest run --project infra-stop

  # The reliability suites bring their own Cassandra nodes and Redis: the shared ones would only
  # take memory and CPU from them now.
  stop_started_infra
  step test:faults bash "$ROOT/scripts/faults.sh" faults
  step test:cluster bash "$ROOT/scripts/faults.sh" cluster
}

main "$@"
