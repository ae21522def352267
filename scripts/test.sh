#!/usr/bin/env bash
# npm test (and CI): typecheck, lint, unit/integration tests against the real Cassandra and Redis,
# then the fault tests. Fails fast. Infra this run had to start is stopped again at the end;
# infra that was already running (e.g. `npm run infra up` for a warm Cassandra) is left alone.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="test"

INFRA="$ROOT/scripts/infra.sh"
STARTED_INFRA=()
TIMINGS=()
RUN_T0=$(now)

# What the tests connect to (common/src/testing/infra.ts).
export SW_TEST_CASSANDRA="127.0.0.1:$CASSANDRA_CQL_PORT"
export SW_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# npm scripts get node_modules/.bin on PATH anyway; this makes plain `node` the pinned Node 24 for
# everything else too (e.g. a bin's `#!/usr/bin/env node`).
export PATH="$ROOT/node_modules/.bin:$PATH"

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

skip() {
  warn "$1: skipped ($2)"
  TIMINGS+=("$(printf '%-14s %8s  skipped: %s' "$1" - "$2")")
}

first_existing() {
  local f
  for f in "$@"; do [[ -e "$ROOT/$f" ]] && { printf '%s' "$f"; return 0; }; done
  return 1
}

finish() {
  local rc=$?
  trap - EXIT
  if ((${#STARTED_INFRA[@]})); then
    log "stopping the infra this run started: ${STARTED_INFRA[*]}"
    bash "$INFRA" down "${STARTED_INFRA[@]}" || true
  fi
  if ((${#TIMINGS[@]})); then
    printf '\nstep            wall time\n'
    printf '%s\n' "${TIMINGS[@]}"
    printf '%-14s %8s  %s\n\n' total "$(elapsed "$RUN_T0")" "$( ((rc)) && echo "FAILED (exit $rc)" || echo ok)"
  fi
  exit "$rc"
}

main() {
  cd "$ROOT"
  trap finish EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  step ensure-tools bash "$ROOT/scripts/ensure-tools.sh"

  local part
  for part in "${INFRA_PARTS[@]}"; do
    bash "$INFRA" status "$part" >/dev/null || STARTED_INFRA+=("$part")
  done
  step infra-up bash "$INFRA" up cassandra redis nginx

  if [[ -f tsconfig.json ]]; then step typecheck npm run --silent typecheck
  else skip typecheck "no tsconfig.json yet"; fi

  if first_existing eslint.config.js eslint.config.mjs eslint.config.cjs eslint.config.ts >/dev/null; then
    step lint npm run --silent lint
  else
    skip lint "no eslint.config.js yet"
  fi

  # Built before the tests so the cold Go build doesn't compete with them for the two cores.
  step deploy-tools bash "$ROOT/scripts/deploy-check.sh" build

  if first_existing vitest.config.ts vitest.config.mts vitest.config.js vitest.config.mjs >/dev/null; then
    step vitest npx --no vitest run
  else
    skip vitest "no vitest config yet"
  fi

  # k6 smoke scenario through nginx against the services (load-tests/, scripts/smoke.sh):
  # thresholds on errors and checks only.
  step smoke bash "$ROOT/scripts/smoke.sh"

  if [[ -f vitest.faults.config.ts ]]; then
    step vitest-faults npx --no vitest run --config vitest.faults.config.ts
  else
    skip vitest-faults "no vitest.faults.config.ts yet"
  fi
}

main "$@"
