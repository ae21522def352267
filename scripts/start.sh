#!/usr/bin/env bash
# npm start: the whole local stack of process-compose.yaml. Installs what is missing, starts (or
# reuses) Cassandra, Redis and nginx, migrates the schema, starts the Node services, then stays in
# the foreground showing their logs. Ctrl-C (or SIGTERM) stops what THIS run started.
#
#   npm start                  foreground; Ctrl-C stops what it started
#   npm start -- --detach      return once everything is ready; `npm stop` stops it later
#   npm start -- --observe     also the observability stack: Prometheus, the exporters, Jaeger
#                              (scripts/observe.sh; combines with --detach)
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

DETACH=0
OBSERVE=0
STARTED=() # what this run started, stopped again on exit unless detached
TAIL_PID=""

cleanup() {
  local rc=$?
  # A second Ctrl-C must not leave the stack half stopped; every stop has a timeout.
  trap '' INT TERM
  trap - EXIT
  [[ -z "$TAIL_PID" ]] || kill "$TAIL_PID" 2>/dev/null || true
  if ((!DETACH)); then
    if ((${#STARTED[@]})); then
      log "stopping what this run started"
      local name services=() infra=()
      for name in "${STARTED[@]}"; do
        if [[ " ${INFRA_PARTS[*]} " == *" $name "* ]]; then infra+=("$name"); else services+=("$name"); fi
      done
      stack_stop "${services[@]}" || true
      stack_stop "${infra[@]}" || true
    else
      log "nothing was started by this run; the stack keeps running ('npm stop' stops it)"
    fi
  fi
  exit "$rc"
}

stop_hint() {
  if ((DETACH)); then echo "npm stop"
  elif ((${#STARTED[@]})); then echo "Ctrl-C here (stops what this run started), or npm stop"
  else echo "npm stop (Ctrl-C here only detaches: this run started nothing)"
  fi
}

banner() {
  cat <<EOF

  Shortwave is up.
    Browser:   http://localhost:$NGINX_PORT
    Dashboard: sign in there with a key from: npm run apikey -- create --name me [--role admin]
    Shorten:   curl -sS -X POST localhost:$NGINX_PORT/api/v1/links -H 'content-type: application/json' -d '{"url":"https://example.com"}'
    Status:    npm run infra status        Logs: .run/services/*.log, .run/{cassandra,redis,nginx}/
    Stop:      $(stop_hint)
EOF
  if ((OBSERVE)); then printf '\n  Observability (logs: .run/observe/):\n%s\n' "$(observe_urls)"; fi
  echo
}

# Foreground: show the service logs and report (once) a service that dies. A `sleep & wait`
# loop rather than a bare `wait`, so Ctrl-C is handled at once.
follow_logs() {
  local dead=" " name
  # --pid: tail also ends if this script is killed hard (no trap runs then)
  tail -n 0 -F --pid=$$ "$RUN_DIR"/services/*.log & TAIL_PID=$!
  while true; do
    for name in "${SERVICES[@]}"; do
      if [[ "$dead" != *" $name "* ]] && ! stack_running "$name"; then
        warn "$name exited unexpectedly; see .run/services/$name.log"
        dead+="$name "
      fi
    done
    sleep 2 & wait $! || true
  done
}

main() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --detach | -d) DETACH=1 ;;
      --observe) OBSERVE=1 ;;
      *) die "usage: start.sh [--detach] [--observe]" ;;
    esac
  done
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cd "$ROOT"
  bash "$ROOT/scripts/ensure-tools.sh" system cassandra npm web
  # Before anything starts: a failed build must not leave half a stack running.
  ((!OBSERVE)) || bash "$ROOT/scripts/observe.sh" tools

  local name parts=("${INFRA_PARTS[@]}" "${SERVICES[@]}")
  ((!OBSERVE)) || parts+=("${OBSERVE_PARTS[@]}")
  for name in "${parts[@]}"; do stack_running "$name" || STARTED+=("$name"); done
  bash "$ROOT/scripts/infra.sh" up
  mkdir -p "$RUN_DIR/services"
  # Read by each service as it starts (process-compose.yaml): last, so they win. Observed, the
  # services export every trace they start themselves to Jaeger (nginx's local env samples every
  # request already); otherwise no tracing is loaded at all.
  local tracing=""
  ((!OBSERVE)) || tracing="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SW_JAEGER_OTLP_HTTP_PORT TRACE_SAMPLE_RATIO=1"
  printf '%s\n' "$tracing ${SW_RATE_LIMIT_MAX:+RATE_LIMIT_MAX=$SW_RATE_LIMIT_MAX} ${SW_SERVICE_ENV:-}" >"$RUN_DIR/services/overrides.env"
  # Before the services, so Jaeger takes their first spans.
  ((!OBSERVE)) || bash "$ROOT/scripts/observe.sh" start
  log "migrating the schema"
  stack_up migrate
  stack_up "${SERVICES[@]}"
  banner
  ((DETACH)) || follow_logs
}

main "$@"
