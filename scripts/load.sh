#!/usr/bin/env bash
# npm run load -- <scenario> [options]: one k6 scenario of load-tests/ against the local stack
# (through nginx, http://localhost:8080). Leaves the k6 summary as JSON under reports/.
#
#   smoke                every endpoint once, all checks (a few seconds)
#   redirect             constant-rate redirects over the seeded links (Zipf), 1 create per 100
#   create               bursts of creation
#   spike                redirects at a base rate, then ten times it for 20 s
#   soak                 the steady mix for 2 minutes (--long: 30 minutes)
#   seed                 seeds links for the others (100,000; --million or --links N for more)
#
# Options: --rate N (requests/s; each scenario has its own default), --duration 60s, --long,
#          --links N, --million, --no-timing (drop latency thresholds: errors and checks only)
#
# Load scenarios need the per-client limits out of the way, since all the traffic comes from one
# address: nginx runs with SW_NGINX_ENV="local load-test" (limits counted, not enforced; see
# nginx/README.md) and create-service with SW_RATE_LIMIT_MAX (scripts/start.sh). This script sets
# both up, restarting nginx's config and create-service when they run without them. The stack is
# started (npm start -- --detach) when it is not running; `npm stop` stops it.
# redirect and soak also check click counting afterwards (load-tests/clicks.ts).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="load"

BASE_URL="${BASE_URL:-http://localhost:$NGINX_PORT}"
LOAD_DIR="$RUN_DIR/load"
KEYS_FILE="$LOAD_DIR/shortwave.keys"
REPORT_DIR="$ROOT/reports"
LOAD_RATE_LIMIT=1000000 # the most create-service accepts: per minute, per client
LOAD_NGINX_ENV="local load-test"
export PATH="$ROOT/node_modules/.bin:$PATH"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

k6_run() { # k6_run SCRIPT SUMMARY_FILE [k6 args...]
  local script=$1 summary=$2
  shift 2
  K6_NO_USAGE_REPORT=true K6_AUTO_EXTENSION_RESOLUTION=false \
    "$K6" run --quiet --summary-export "$summary" -e BASE_URL="$BASE_URL" "$@" "$script"
}

# The first line of /proc/stat: CPU time since boot, by kind (user nice system idle iowait irq softirq steal).
cpu_times() { head -n 1 /proc/stat; }

# How busy the machine was between two cpu_times, and how much of it the hypervisor took: on a
# shared VM a latency threshold crossed while much was stolen says more about the host than the stack.
cpu_report() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " "); total = 0
    # Fields 2-9 only: guest and guest_nice (10, 11) are already counted in user and nice.
    for (i = 2; i <= 9; i++) { d[i] = y[i] - x[i]; total += d[i] }
    if (total <= 0) exit
    printf "machine during the run: %.0f%% busy, %.0f%% stolen by the hypervisor\n", 100 * (total - d[5] - d[6] - d[9]) / total, 100 * d[9] / total
  }'
}

# The stack, with the per-client limits out of the way (see the top of this file).
stack_for_load() {
  export SW_NGINX_ENV="$LOAD_NGINX_ENV" SW_RATE_LIMIT_MAX="$LOAD_RATE_LIMIT"
  if stack_running create-service; then
    # The metadata route announces its quota (RateLimit-Policy: "read";q=<n>;w=60): 10 x RATE_LIMIT_MAX.
    local limit
    limit=$(curl -s -o /dev/null -D - -m 5 "http://127.0.0.1:3001/api/v1/links/zzzzzzz" | awk 'tolower($1) == "ratelimit-policy:" && match($2, /;q=[0-9]+/) { print substr($2, RSTART + 3, RLENGTH - 3) + 0 }')
    if [[ -n "$limit" ]] && ((limit < LOAD_RATE_LIMIT)); then
      log "create-service runs with RATE_LIMIT_MAX=$((limit / 10)); restarting it with $LOAD_RATE_LIMIT for the load test"
      stack_stop create-service
    fi
  fi
  # Starts what is missing (start.sh reuses what runs); reloads nginx when its env changed.
  all_services_up || bash "$ROOT/scripts/start.sh" --detach >/dev/null
  bash "$ROOT/scripts/infra.sh" up nginx
}

all_services_up() {
  local name
  for name in "${SERVICES[@]}"; do stack_running "$name" || return 1; done
}

# Seeded links for the scenarios that need them; seeds when the key file is missing or stale
# (e.g. the Cassandra data was wiped since).
ensure_seed() {
  local first
  first=$(head -n 1 "$KEYS_FILE" 2>/dev/null || true)
  if [[ -n "$first" && "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$BASE_URL/api/v1/links/$first")" == 200 ]]; then
    log "using $(wc -l <"$KEYS_FILE") seeded links (${KEYS_FILE#"$ROOT"/}; npm run load -- seed to reseed)"
    return 0
  fi
  log "no seeded links yet: seeding 100,000 (npm run load -- seed --million for more)"
  node "$ROOT/load-tests/seed.ts" --out "$KEYS_FILE"
}

main() {
  cd "$ROOT"
  (($#)) || usage 1
  local scenario=$1
  shift
  local rate="" duration="" long=0 links=100000 million=0 timing=on
  while (($#)); do
    case "$1" in
      --rate) rate=$2; shift ;;
      --duration) duration=$2; shift ;;
      --long) long=1 ;;
      --links) links=$2; shift ;;
      --million) million=1 ;;
      --no-timing) timing=off ;;
      -h | --help) usage 0 ;;
      *) die "unknown option $1 (see: npm run load -- --help)" ;;
    esac
    shift
  done

  case "$scenario" in
    -h | --help | help) usage 0 ;;
    seed)
      local args=(--out "$KEYS_FILE")
      if ((million)); then args+=(--million); else args+=(--links "$links"); fi
      exec node "$ROOT/load-tests/seed.ts" "${args[@]}"
      ;;
    smoke | redirect | create | spike | soak) ;;
    *) die "unknown scenario '$scenario' (smoke, redirect, create, spike, soak, seed)" ;;
  esac

  K6=$(bash "$ROOT/scripts/ensure-k6.sh")
  mkdir -p "$REPORT_DIR" "$LOAD_DIR"
  if [[ "$scenario" == smoke ]]; then
    all_services_up || bash "$ROOT/scripts/start.sh" --detach >/dev/null
  else
    stack_for_load
  fi

  local env_args=(-e TIMING="$timing")
  [[ -z "$rate" ]] || env_args+=(-e RATE="$rate")
  ((long)) && [[ -z "$duration" ]] && duration=30m
  [[ -z "$duration" ]] || env_args+=(-e DURATION="$duration")
  local tracers=""
  case "$scenario" in
    redirect | spike | soak)
      ensure_seed
      env_args+=(-e KEYS_FILE="$KEYS_FILE")
      ;;
  esac
  if [[ "$scenario" == redirect || "$scenario" == soak ]]; then
    tracers="$LOAD_DIR/tracers.json"
    node "$ROOT/load-tests/clicks.ts" prepare --base-url "$BASE_URL" --out "$tracers"
    env_args+=(-e TRACERS_FILE="$tracers")
  fi

  local stamp summary rc=0
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  summary="$REPORT_DIR/$scenario-$stamp.json"
  log "k6 run load-tests/$scenario.js ${env_args[*]}"
  local cpu_before
  cpu_before=$(cpu_times)
  k6_run "load-tests/$scenario.js" "$summary" "${env_args[@]}" || rc=$?
  log "$(cpu_report "$cpu_before" "$(cpu_times)")"
  if [[ -n "$tracers" ]]; then
    node "$ROOT/load-tests/clicks.ts" verify --base-url "$BASE_URL" --tracers "$tracers" --summary "$summary" \
      --out "$REPORT_DIR/$scenario-$stamp.clicks.json" || { ((rc)) || rc=1; }
  fi
  log "summary: ${summary#"$ROOT"/}$( ((rc)) && echo " (FAILED: exit $rc)")"
  return "$rc"
}

main "$@"
