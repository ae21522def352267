#!/usr/bin/env bash
# Throw-away Cassandra nodes for the expensive suites (npm run test:cluster, npm run test:faults),
# beside the dev node of scripts/infra.sh and never instead of it: their own loopback addresses,
# data and logs, so killing them disturbs nobody. Declared in infra/cassandra/<profile>.yaml and run
# by a process-compose server per profile (socket in .run/<profile>/), which also runs the suites'
# services and Redis (tests/faults/processes.yaml) and never restarts what the suites kill.
#
#   scripts/cluster.sh [--profile P] up               start every node (running ones are reused), wait
#                                                     until each is ready and sees all the others
#   scripts/cluster.sh [--profile P] down             stop everything of the profile (nodes: SIGTERM,
#                                                     SIGKILL after 60 s) and its server
#   scripts/cluster.sh [--profile P] status           one line per node; exit 0 only if all are up
#   scripts/cluster.sh [--profile P] reset            down, then delete the data
#   scripts/cluster.sh [--profile P] start N          start node N again (after kill/stop) and wait as for up
#   scripts/cluster.sh [--profile P] stop N           SIGTERM node N (drains), SIGKILL after 60 s
#   scripts/cluster.sh [--profile P] kill N           SIGKILL node N: a crash
#   scripts/cluster.sh [--profile P] pause N          SIGSTOP node N: alive but silent (slow, not dead)
#   scripts/cluster.sh [--profile P] resume N         SIGCONT node N
#   scripts/cluster.sh [--profile P] nodetool N ARG.. nodetool against node N (e.g. status, repair -full ks)
#   scripts/cluster.sh [--profile P] contact-points   prints host:port,... for CASSANDRA_CONTACT_POINTS
#
# Profiles (or SW_CLUSTER_PROFILE):
#   cluster  (default) 3 nodes on 127.0.0.11, .12, .13 (the keyspace gets RF 3), state in .run/cluster/
#   faults   1 node on 127.0.0.21, the one the fault suite kills and pauses, state in .run/faults/cassandra/
# Env: SW_CLUSTER_HEAP (default 512M), SW_CLUSTER_TIMEOUT (s, default 240), SW_CLUSTER_COMMITLOG
# (periodic|group, overrides the profile's), SW_JAVA_HOME.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

PROFILE=${SW_CLUSTER_PROFILE:-cluster}
if [[ "${1:-}" == --profile ]]; then PROFILE=${2:?--profile needs a name}; shift 2; fi
# shellcheck disable=SC2034 # read by log() and the stack_* functions in lib.sh
SW_LOG_TAG="cluster:$PROFILE" PC_DIR="$RUN_DIR/$PROFILE" PC_FILES=(-f "infra/cassandra/$PROFILE.yaml" -f tests/faults/processes.yaml)
case "$PROFILE" in
  cluster) NODES=3 NET=127.0.0.1 JMX=1721 NODE_BASE="$RUN_DIR/cluster" ;;
  faults) NODES=1 NET=127.0.0.2 JMX=1722 NODE_BASE="$RUN_DIR/faults/cassandra" ;;
  *) die "unknown profile '$PROFILE' (expected: cluster, faults)" ;;
esac
export SW_READY_TIMEOUT=${SW_CLUSTER_TIMEOUT:-240} SW_PROCS_DIR="$PC_DIR/procs"
stack_log() { echo "$NODE_BASE/$1/logs/console.log"; }
node_arg() { [[ "${1:-}" =~ ^[1-9]$ ]] && (($1 <= NODES)) || die "expected a node number 1..$NODES, got '${1:-}'"; }

# start_nodes N...: starts the given nodes together (running ones are reused), waits until each is
# ready for CQL and until every started node and every other running node have seen each other
# come up (system.log).
start_nodes() {
  local i j t0 names=() started=() offsets=() missing deadline=$((SECONDS + SW_READY_TIMEOUT))
  t0=$(now)
  for ((i = 1; i <= NODES; i++)); do offsets[i]=$(stat -c %s "$NODE_BASE/node$i/logs/system.log" 2>/dev/null || echo 0); done
  for i in "$@"; do
    names+=("node$i")
    stack_running "node$i" || started+=("$i")
    mkdir -p "$NODE_BASE/node$i/logs"
  done
  mkdir -p "$SW_PROCS_DIR"
  stack_up "${names[@]}"
  while ((NODES > 1 && ${#started[@]})); do
    missing=""
    for i in "${started[@]}"; do
      for ((j = 1; j <= NODES; j++)); do
        ((i != j)) && stack_running "node$j" || continue
        sees_up "$i" "${offsets[i]}" "$j" || missing+=" node$i->node$j"
        sees_up "$j" "${offsets[j]}" "$i" || missing+=" node$j->node$i"
      done
    done
    [[ -n "$missing" ]] || { log "ring complete: $(printf 'node%s ' "${started[@]}")up and seen by every running node, $(elapsed "$t0")"; break; }
    ((SECONDS < deadline)) || die "nodes do not see each other after ${SW_READY_TIMEOUT}s:$missing (logs in ${NODE_BASE#"$ROOT"/}/node*/logs)"
    sleep 1
  done
}
# True once node I's log (after byte OFFSET, or all of it if it rolled over since) says node J is
# up. grep reads it all: with grep -q, tail could die of SIGPIPE and pipefail would call a found line missing.
sees_up() {
  log_since "$NODE_BASE/node$1/logs/system.log" "$2" | grep -F "InetAddress /$NET$3:$CASSANDRA_STORAGE_PORT is now UP" >/dev/null
}

cmd_status() {
  local i status pid rc=0
  for ((i = 1; i <= NODES; i++)); do
    read -r status _ _ pid <<<"$(stack_state "node$i")"
    if [[ "$status" != Running ]]; then status=down rc=1
    elif [[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" == T ]]; then status=paused rc=1
    elif stack_ready "node$i"; then status=up
    else status=starting rc=1; fi
    printf 'node%s  %-9s pid %-8s cql %s:%s  jmx %s\n' "$i" "$status" "${pid:--}" "$NET$i" "$CASSANDRA_CQL_PORT" "$JMX$i"
  done
  return "$rc"
}

cmd_signal() { # cmd_signal N SIGNAL: to the pid process-compose reports
  local pid i
  pid=$(stack_pid "node$1") || die "node$1 is not running"
  kill "-$2" "$pid"
  for ((i = 0; i < 100; i++)); do [[ "$2" == KILL ]] && stack_running "node$1" || break; sleep 0.1; done
  log "node$1: sent SIG$2 (pid $pid)"
}

cmd_nodetool() {
  local i=$1 java_home
  shift
  java_home=$(find_java17) || die "no JDK 17 found"
  mkdir -p "$NODE_BASE/nodetool"
  # The client side of Cassandra's jvm17-clients.options; its log lines go to a file, not into the output.
  "$java_home/bin/java" @"$ROOT/infra/cassandra/nodetool.options" "-Dlogback.configurationFile=$ROOT/infra/cassandra/logback.xml" \
    "-Dcassandra.logdir=$NODE_BASE/nodetool" -cp "$CASSANDRA_LIB/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$JMX$i" "$@"
}

main() {
  local cmd=${1:-} i all=()
  (($#)) && shift
  cd "$ROOT"
  mkdir -p "$PC_DIR"
  if [[ " up down reset start stop kill " == *" $cmd "* ]]; then
    # One state change at a time per profile (a test and a person may race); pc() keeps fd 9 from the server.
    exec 9>"$PC_DIR/cluster.lock"
    flock -w 600 9 || die "another cluster.sh has held ${PC_DIR#"$ROOT"/}/cluster.lock for 10 minutes"
  fi
  for ((i = 1; i <= NODES; i++)); do all+=("$i"); done
  case "$cmd" in
    up) bash "$ROOT/scripts/ensure-tools.sh" system cassandra; start_nodes "${all[@]}" ;;
    down) stack_down ;;
    status) cmd_status ;;
    reset) stack_down; rm -rf "$NODE_BASE"/node*/data; log "data deleted" ;;
    start) node_arg "${1:-}"; start_nodes "$1" ;;
    stop) node_arg "${1:-}"; stack_stop "node$1" ;;
    kill) node_arg "${1:-}"; cmd_signal "$1" KILL ;;
    pause) node_arg "${1:-}"; cmd_signal "$1" STOP ;;
    resume) node_arg "${1:-}"; cmd_signal "$1" CONT ;;
    nodetool) node_arg "${1:-}"; cmd_nodetool "$@" ;;
    contact-points) for i in "${all[@]}"; do printf '%s%s:%s\n' "$NET" "$i" "$CASSANDRA_CQL_PORT"; done | paste -sd, ;;
    *) sed -n '2,/^# Env:/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
