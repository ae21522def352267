#!/usr/bin/env bash
# Where the CPU of one request goes, process by process, on the running local stack: runs wrk
# against a URL and prints its figures, then each stack process's CPU time (user + system, from
# /proc) divided by the requests wrk completed. On two shared cores, throughput moves with
# whatever else runs; CPU per request hardly does, so this is the figure to compare a change by.
#
#   bash load-tests/bench/cpu-split.sh create [seconds]          POST /api/v1/links through nginx
#   bash load-tests/bench/cpu-split.sh redirect KEY [seconds]    GET /KEY through nginx
#
# Start the stack for load first: SW_NGINX_ENV="local load-test" SW_RATE_LIMIT_MAX=1000000 npm start -- --detach
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

case "${1:-}" in
  create) url=http://127.0.0.1:8080/api/v1/links; script=(-s load-tests/bench/create.lua); seconds=${2:-10} ;;
  redirect) [[ -n "${2:-}" ]] || { echo "usage: $0 redirect KEY [seconds]" >&2; exit 2; }
    url=http://127.0.0.1:8080/$2; script=(); seconds=${3:-10} ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac

processes=(nginx create-service key-worker redirect-service-1 redirect-service-2 redis cassandra)
tick_us=$((1000000 / $(getconf CLK_TCK)))

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# A process and its children (nginx: master and workers), as process-compose runs them.
pids_of() {
  local pid
  pid=$(stack_pid "$1") || return 0
  [[ -n "$pid" && -d /proc/$pid ]] || return 0
  echo "$pid"
  grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3 || true
}

# utime + stime in clock ticks; a process that is gone counts 0.
ticks() {
  local total=0 pid fields
  for pid in "$@"; do
    fields=$(cut -d')' -f2 "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{ print $12 + $13 }' <<<"$fields")))
  done
  echo "$total"
}

declare -A pids before
for name in "${processes[@]}"; do
  pids[$name]=$(pids_of "$name" | tr '\n' ' ')
  # shellcheck disable=SC2086
  before[$name]=$(ticks ${pids[$name]})
done

out=$(wrk -t2 -c50 -d"${seconds}s" --latency "${script[@]}" "$url")
grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors' <<<"$out"
requests=$(awk '/requests in/ { print $1 }' <<<"$out")

printf '%-20s %s\n' process 'CPU µs/request'
total=0
for name in "${processes[@]}"; do
  [[ -n "${pids[$name]}" ]] || continue
  # shellcheck disable=SC2086
  us=$(( ($(ticks ${pids[$name]}) - before[$name]) * tick_us / requests ))
  total=$((total + us))
  printf '%-20s %d\n' "$name" "$us"
done
printf '%-20s %d\n' 'all of the stack' "$total"
