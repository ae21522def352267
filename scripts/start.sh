#!/usr/bin/env bash
# npm start: the whole local stack. Installs what is missing, starts (or reuses) Cassandra,
# Redis and nginx, migrates the schema, starts the Node services, then stays in the foreground
# showing their logs. Ctrl-C (or SIGTERM) stops what THIS run started, newest first.
#
#   npm start                  foreground; Ctrl-C stops what it started
#   npm start -- --detach      return once everything is ready; `npm stop` stops it later
#
# Overrides for the services this run starts (already running ones are reused as they are):
#   SW_RATE_LIMIT_MAX=N        create-service's RATE_LIMIT_MAX (load tests: all traffic comes from one address)
#   SW_SERVICE_ENV="K=V ..."   extra environment for every service, e.g. LOCAL_CACHE_TTL_MS=0 (the
#                              benchmark); a service ignores variables it does not know
#
# Anything already running and healthy is reused, never started twice. Tip: keep Cassandra warm
# between runs with `npm run infra up`; a later npm start then reuses it and leaves it running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- the services
# name                entry file                        port  extra env (KEY=VALUE ..., or -)
SERVICES=(
  "key-worker         key-worker/src/server.ts          3004  -"
  "create-service     create-service/src/server.ts      3001  PUBLIC_BASE_URL=http://localhost:8080"
  "redirect-service-1 redirect-service/src/server.ts    3002  -"
  "redirect-service-2 redirect-service/src/server.ts    3003  -"
)
# Passed to every service (and to the migration).
SERVICE_ENV=(
  HOST=127.0.0.1
  CASSANDRA_CONTACT_POINTS="127.0.0.1:$CASSANDRA_CQL_PORT"
  CASSANDRA_LOCAL_DC=datacenter1
  CASSANDRA_KEYSPACE=shortwave
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  LOG_LEVEL=info
)
READY_TIMEOUT=60
SVC_LOG_DIR="$RUN_DIR/services"

INFRA="$ROOT/scripts/infra.sh"
DETACH=0
STARTED_INFRA=()    # parts this run started (stopped again on exit)
STARTED_SERVICES=() # services this run started
TAIL_PID=""
CLEANUP=1

# ---------------------------------------------------------------- helpers

svc_field() { # svc_field "<table row>" N  -> Nth whitespace-separated column
  awk -v n="$2" '{print $n}' <<<"$1"
}

svc_ready() { [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/readyz" 2>/dev/null)" == 200 ]]; }

# start_service NAME ENTRY PORT EXTRA_ENV
start_service() {
  local name=$1 entry=$2 port=$3 extra=$4
  local logfile="$SVC_LOG_DIR/$name.log"
  if pid_alive "$name"; then
    log "$name: already running (pid $(pid_of "$name")), reusing it"
    wait_service_ready "$name" "$port" "$logfile"
    return 0
  fi
  clear_stale_pidfile "$name"
  if [[ ! -f "$ROOT/$entry" ]]; then
    warn "$name: $entry does not exist yet; skipping it"
    return 0
  fi
  require_port_free "$port" "$name"
  local env_args=("${SERVICE_ENV[@]}" "PORT=$port") extra_arr=()
  [[ "$extra" == - ]] || read -r -a extra_arr <<<"$extra"
  env_args+=("${extra_arr[@]}")
  # Load tests and the benchmark (see the top of this file); last, so they win.
  [[ -z "${SW_RATE_LIMIT_MAX:-}" ]] || env_args+=("RATE_LIMIT_MAX=$SW_RATE_LIMIT_MAX")
  if [[ -n "${SW_SERVICE_ENV:-}" ]]; then
    local overrides
    read -r -a overrides <<<"$SW_SERVICE_ENV"
    env_args+=("${overrides[@]}")
  fi
  local t0
  t0=$(now)
  printf '\n===== %s start %s =====\n' "$name" "$(date -u +%FT%TZ)" >>"$logfile"
  # The marker is the entry path: both redirect replicas share it, their start times tell
  # them apart (see pidfiles in lib.sh).
  spawn_detached "$name" "$logfile" "$ROOT/$entry" "$ROOT" -- env "${env_args[@]}" "$NODE" "$ROOT/$entry"
  STARTED_SERVICES+=("$name")
  wait_service_ready "$name" "$port" "$logfile"
  log "$name: ready on 127.0.0.1:$port in $(elapsed "$t0") (pid $(pid_of "$name"))"
}

wait_service_ready() {
  local name=$1 port=$2 logfile=$3
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    svc_ready "$port" && return 0
    if ! pid_alive "$name"; then
      show_tail 40 "$logfile"
      die "$name: exited before it was ready (log above: ${logfile#"$ROOT"/})"
    fi
    sleep 0.3
  done
  show_tail 40 "$logfile"
  die "$name: GET http://127.0.0.1:$port/readyz did not answer 200 within ${READY_TIMEOUT}s (log above)"
}

# Stops services in parallel: each may take its drain grace period, no reason to add them up.
stop_services() {
  local name
  for name in "$@"; do stop_pid "$name" 15 & done
  wait
}

cleanup() {
  local rc=$?
  # A second Ctrl-C must not leave the stack half stopped; every stop below has a timeout.
  trap '' INT TERM
  trap - EXIT
  [[ -z "$TAIL_PID" ]] || kill "$TAIL_PID" 2>/dev/null || true
  if ((CLEANUP)); then
    if ((${#STARTED_SERVICES[@]} + ${#STARTED_INFRA[@]})); then
      log "stopping what this run started"
      ((${#STARTED_SERVICES[@]} == 0)) || stop_services "${STARTED_SERVICES[@]}" || true
      ((${#STARTED_INFRA[@]} == 0)) || bash "$INFRA" down "${STARTED_INFRA[@]}" || true
    else
      log "nothing was started by this run; the stack keeps running ('npm stop' stops it)"
    fi
  fi
  exit "$rc"
}

stop_hint() {
  if ((DETACH)); then echo "npm stop"
  elif ((${#STARTED_SERVICES[@]} + ${#STARTED_INFRA[@]})); then echo "Ctrl-C here (stops what this run started), or npm stop"
  else echo "npm stop (Ctrl-C here only detaches: this run started nothing)"
  fi
}

banner() {
  cat <<EOF

  Shortwave is up.
    Browser:   http://localhost:$NGINX_PORT
    Shorten:   curl -sS -X POST localhost:$NGINX_PORT/api/v1/links -H 'content-type: application/json' -d '{"url":"https://example.com"}'
    Status:    npm run infra status        Logs: .run/services/*.log, .run/{cassandra,redis,nginx}/
    Stop:      $(stop_hint)

EOF
}

# Foreground: show the service logs and report (once) a service that dies. A `sleep & wait`
# loop rather than a bare `wait`, so Ctrl-C is handled at once.
follow_logs() {
  local logs=("$SVC_LOG_DIR"/*.log) dead=" " name
  # --pid: tail also ends if this script is killed hard (no trap runs then)
  [[ -e "${logs[0]}" ]] && { tail -n 0 -F --pid=$$ "${logs[@]}" & TAIL_PID=$!; }
  while true; do
    for name in "${STARTED_SERVICES[@]}"; do
      if [[ "$dead" != *" $name "* ]] && ! pid_alive "$name"; then
        warn "$name exited unexpectedly; see .run/services/$name.log"
        dead+="$name "
      fi
    done
    sleep 2 & wait $! || true
  done
}

# ---------------------------------------------------------------- main

main() {
  case "${1:-}" in
    --detach | -d) DETACH=1 ;;
    "") ;;
    *) die "usage: start.sh [--detach]" ;;
  esac
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cd "$ROOT"

  bash "$ROOT/scripts/ensure-tools.sh" system cassandra npm
  NODE=$(node_bin)

  local part
  for part in "${INFRA_PARTS[@]}"; do
    bash "$INFRA" status "$part" >/dev/null || STARTED_INFRA+=("$part")
  done
  bash "$INFRA" up

  if [[ -f common/src/cassandra/migrate-cli.ts ]]; then
    log "migrating the schema (npm run migrate)"
    env "${SERVICE_ENV[@]}" npm run --silent migrate || die "npm run migrate failed"
  else
    warn "common/src/cassandra/migrate-cli.ts does not exist yet; skipping the migration"
  fi

  mkdir -p "$SVC_LOG_DIR"
  local row
  for row in "${SERVICES[@]}"; do
    start_service "$(svc_field "$row" 1)" "$(svc_field "$row" 2)" "$(svc_field "$row" 3)" \
      "$(awk '{ $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' <<<"$row")"
  done
  if ((${#STARTED_SERVICES[@]} == 0 && ${#STARTED_INFRA[@]} == 0)); then
    log "the stack was already running and healthy; reusing it"
  fi

  banner
  if ((DETACH)); then
    CLEANUP=0
    exit 0
  fi
  follow_logs
}

main "$@"
