#!/usr/bin/env bash
# Local infrastructure of Shortwave: one Cassandra node, one Redis, one nginx, all on loopback, as
# declared in process-compose.yaml (see scripts/lib.sh, "the local stack").
#
#   scripts/infra.sh up     [cassandra|redis|nginx ...]   start what is not already running+healthy
#   scripts/infra.sh down   [cassandra|redis|nginx ...]   stop them (services keep running)
#   scripts/infra.sh status [cassandra|redis|nginx ...]   exit 0 only if all named parts are healthy
#   scripts/infra.sh reset  [cassandra|redis|nginx ...]   down, then delete the part's data
#
# No part = all three. Safe to call from tests (tests/faults stop and restart parts through it).
# nginx runs on nginx/*.conf plus the files of nginx/env/ named in SW_NGINX_ENV (default "local";
# "local load-test" lifts the per-client limits for load tests, see nginx/README.md); `up nginx`
# with other names reloads a running nginx.
# Env: SW_CASSANDRA_HEAP (default 2G), ports (infra/stack.env), SW_JAVA_HOME, SW_NGINX_ENV.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG=infra

usage() { sed -n '2,/^# Env:/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# A running nginx takes a changed config (or SW_NGINX_ENV) by a reload, as before the swap to
# process-compose: no connection is dropped.
nginx_config() {
  mkdir -p "$RUN_DIR/nginx"
  printf '%s\n' "${SW_NGINX_ENV:-local}" >"$RUN_DIR/nginx/env-names"
  stack_running nginx || return 0
  if [[ "$(infra/nginx/run.sh prepare)" == changed ]]; then
    kill -HUP "$(stack_pid nginx)"
    log "nginx: reloaded the changed config (env: ${SW_NGINX_ENV:-local})"
  fi
}

status_line() {
  local status ready code pid
  read -r status ready code pid <<<"$(stack_state "$1")"
  [[ "$status" == Running ]] || { status="down${code:+ (exit $code)}" ready=- pid=-; }
  printf '%-10s %-16s %-9s pid %-8s log %s\n' "$1" "$status" "$ready" "$pid" "$(stack_log "$1")"
  stack_ready "$1"
}

main() {
  local cmd=${1:-} parts=() p rc=0
  (($#)) && shift
  for p in "$@"; do [[ " ${INFRA_PARTS[*]} " == *" $p "* ]] || die "unknown part '$p' (expected: ${INFRA_PARTS[*]})"; done
  for p in "${INFRA_PARTS[@]}"; do [[ $# -eq 0 || " $* " == *" $p "* ]] && parts+=("$p"); done
  cd "$ROOT"
  mkdir -p "$RUN_DIR"
  if [[ "$cmd" == up || "$cmd" == down || "$cmd" == reset ]]; then
    # One state change at a time (npm start and a test may race); pc() keeps fd 9 from the server.
    exec 9>"$RUN_DIR/infra.lock"
    flock -w 600 9 || die "another infra.sh has held .run/infra.lock for 10 minutes"
  fi
  case "$cmd" in
    up)
      # Standalone use on a fresh machine: install redis/nginx/JDK/jars if missing (silent otherwise).
      bash "$ROOT/scripts/ensure-tools.sh" system cassandra
      [[ " ${parts[*]} " != *" nginx "* ]] || nginx_config
      stack_up "${parts[@]}"
      ;;
    down) stack_stop "${parts[@]}" ;;
    reset)
      stack_stop "${parts[@]}"
      [[ " ${parts[*]} " != *" cassandra "* ]] || { rm -rf "$RUN_DIR/cassandra/data"; log "cassandra: data deleted"; }
      ;;
    status) for p in "${parts[@]}"; do status_line "$p" || rc=1; done ;;
    *) usage ;;
  esac
  exit "$rc"
}

main "$@"
