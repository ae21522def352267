#!/usr/bin/env bash
# Throw-away Cassandra nodes for the expensive suites (npm run test:cluster, npm run test:faults),
# beside the dev node of scripts/infra.sh and never instead of it: their own loopback addresses,
# data and logs, so killing them disturbs nobody.
#
#   scripts/cluster.sh [--profile P] up               start every node (running ones are reused), wait
#                                                     until each is ready and sees all the others
#   scripts/cluster.sh [--profile P] down             stop every node (SIGTERM, SIGKILL after 60 s)
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
# Each node listens on its own address with the dev node's ports (CQL 19042, storage 17000); JMX
# binds to 127.0.0.1, so its port differs per node: 1721N (cluster), 1722N (faults).
# Commit log: periodic for the cluster (Cassandra's default: replicas cover a crash), group for the
# lone faults node (nothing acknowledged is lost when it is SIGKILLed; see infra/cassandra/cassandra.yaml.template).
# Env: SW_CLUSTER_HEAP (default 512M), SW_CLUSTER_TIMEOUT (s, default 240), SW_CLUSTER_COMMITLOG
# (periodic|group, overrides the profile's), SW_JAVA_HOME.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

PROFILE=${SW_CLUSTER_PROFILE:-cluster}
if [[ "${1:-}" == --profile ]]; then
  PROFILE=${2:?--profile needs a name}
  shift 2
fi
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG="cluster:$PROFILE"

case "$PROFILE" in
  # RF 3 covers a crashed node: Cassandra's default commit log.
  cluster) NODES=3 ADDRESS_BASE=10 JMX_BASE=17210 BASE_DIR="$RUN_DIR/cluster" CLUSTER_NAME=shortwave-cluster SYNC=periodic ;;
  # A lone node that gets SIGKILLed: only a synced commit log keeps every acknowledged write.
  faults) NODES=1 ADDRESS_BASE=20 JMX_BASE=17220 BASE_DIR="$RUN_DIR/faults/cassandra" CLUSTER_NAME=shortwave-faults SYNC=group ;;
  *) die "unknown profile '$PROFILE' (expected: cluster, faults)" ;;
esac
HEAP=${SW_CLUSTER_HEAP:-512M}
SYNC=${SW_CLUSTER_COMMITLOG:-$SYNC}
TIMEOUT=${SW_CLUSTER_TIMEOUT:-240}
# The nodes' pidfiles live with the profile, not in .run/pids/, which `npm stop` reads as the
# list of the stack's services.
PID_DIR="$BASE_DIR/pids"

address_of() { printf '127.0.0.%s' "$((ADDRESS_BASE + $1))"; }
jmx_port_of() { printf '%s' "$((JMX_BASE + $1))"; }
dir_of() { printf '%s/node%s' "$BASE_DIR" "$1"; }
name_of() { printf 'node%s' "$1"; }

# Balanced single tokens, as ccm gives them: (i-1) * 2^64 / n - 2^63 (beyond bash's integers, hence the table).
token_of() {
  local i=$1
  case "$NODES:$i" in
    1:1) echo 0 ;;
    3:1) echo -9223372036854775808 ;;
    3:2) echo -3074457345618258603 ;;
    3:3) echo 3074457345618258602 ;;
    *) die "no token table for node $i of $NODES" ;;
  esac
}

seeds() {
  local i out=()
  for ((i = 1; i <= NODES; i++)); do out+=("$(address_of "$i"):$CASSANDRA_STORAGE_PORT"); done
  local IFS=,
  printf '%s' "${out[*]}"
}

contact_points() {
  local i out=()
  for ((i = 1; i <= NODES; i++)); do out+=("$(address_of "$i"):$CASSANDRA_CQL_PORT"); done
  local IFS=,
  printf '%s\n' "${out[*]}"
}

node_arg() {
  if [[ ! "${1:-}" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > NODES)); then die "expected a node number 1..$NODES, got '${1:-}'"; fi
}

# spawn_node N: starts node N (infra/cassandra/run.sh, not waiting); logs go to the node's logs/.
spawn_node() {
  local i=$1 dir name
  dir=$(dir_of "$i")
  name=$(name_of "$i")
  clear_stale_pidfile "$name"
  mkdir -p "$dir/logs"
  printf '\n===== start %s =====\n' "$(date -u +%FT%TZ)" >>"$dir/logs/console.log"
  # A lone node has nobody to announce a shutdown to (see process-compose.yaml).
  local extra=""
  ((NODES > 1)) || extra="-Dcassandra.shutdown_announce_in_ms=0 -Dcassandra.test.messagingService.nonGracefulShutdown=true"
  spawn_detached "$name" "$dir/logs/console.log" "$(node_marker "$dir")" "$dir" -- env NODE_DIR="$dir" \
    ADDRESS="$(address_of "$i")" CQL_PORT="$CASSANDRA_CQL_PORT" STORAGE_PORT="$CASSANDRA_STORAGE_PORT" \
    JMX_PORT="$(jmx_port_of "$i")" CLUSTER="$CLUSTER_NAME" SEEDS="$(seeds)" TOKEN="$(token_of "$i")" \
    COMMITLOG="$SYNC" HEAP="$HEAP" DYNAMIC_SNITCH=false EXTRA_JVM_OPTS="$extra" "$ROOT/infra/cassandra/run.sh"
}

# What pid_of checks in a node's command line: its own cassandra.yaml.
node_marker() { printf -- '-Dcassandra.config=file://%s/cassandra.yaml' "$1"; }
log_offset() { stat -c %s "$1/logs/system.log" 2>/dev/null || echo 0; }

# wait_node_ready N T0: infra/cassandra/ready.sh, or die with the node's logs.
wait_node_ready() {
  local name dir deadline=$((SECONDS + TIMEOUT))
  name=$(name_of "$1")
  dir=$(dir_of "$1")
  while ((SECONDS < deadline)); do
    pid_alive "$name" || break
    if "$ROOT/infra/cassandra/ready.sh" "$dir" "$(address_of "$1")" "$CASSANDRA_CQL_PORT"; then
      log "$name: ready on $(address_of "$1"):$CASSANDRA_CQL_PORT in $(elapsed "$2") (pid $(pid_of "$name"))"
      return 0
    fi
    sleep 0.5
  done
  show_tail 40 "$dir/logs/system.log" "$dir/logs/console.log"
  die "$name: not ready after ${TIMEOUT}s or exited (logs above)"
}

# True once node I's log (after byte OFFSET) says node J is up.
sees_up() {
  local i=$1 offset=$2 j=$3
  tail -c "+$((offset + 1))" "$(dir_of "$i")/logs/system.log" 2>/dev/null |
    grep -qF "InetAddress /$(address_of "$j"):$CASSANDRA_STORAGE_PORT is now UP"
}

# start_nodes N...: starts the given nodes together and waits until each is ready for CQL and
# every (re)started node and every other running node have seen each other come up.
start_nodes() {
  local i j t0 started=() offsets=()
  t0=$(now)
  for ((i = 1; i <= NODES; i++)); do offsets[i]=$(log_offset "$(dir_of "$i")"); done
  for i in "$@"; do
    if pid_alive "$(name_of "$i")"; then
      log "$(name_of "$i"): already running (pid $(pid_of "$(name_of "$i")")), reusing it"
      continue
    fi
    local port
    for port in "$CASSANDRA_CQL_PORT" "$CASSANDRA_STORAGE_PORT"; do
      port_open "$(address_of "$i")" "$port" && die "$(address_of "$i"):$port is in use by a process this script did not start: $(port_owner "$port")"
    done
    port_open 127.0.0.1 "$(jmx_port_of "$i")" && die "JMX port $(jmx_port_of "$i") is in use: $(port_owner "$(jmx_port_of "$i")")"
    [[ -f "$CASSANDRA_LIB_MARKER" ]] || die "Cassandra jars missing; run scripts/ensure-tools.sh system cassandra"
    spawn_node "$i"
    started+=("$i")
  done
  ((${#started[@]})) || return 0
  log "starting $(printf 'node%s ' "${started[@]}")(heap $HEAP each)"
  for i in "${started[@]}"; do
    wait_node_ready "$i" "$t0"
  done
  ((NODES > 1)) || return 0
  local deadline=$((SECONDS + TIMEOUT)) missing
  while true; do
    missing=""
    for i in "${started[@]}"; do
      for ((j = 1; j <= NODES; j++)); do
        ((i == j)) && continue
        pid_alive "$(name_of "$j")" || continue
        sees_up "$i" "${offsets[i]}" "$j" || missing+=" node$i->node$j"
        sees_up "$j" "${offsets[j]}" "$i" || missing+=" node$j->node$i"
      done
    done
    [[ -z "$missing" ]] && break
    ((SECONDS < deadline)) || die "nodes do not see each other after ${TIMEOUT}s:$missing (logs in ${BASE_DIR#"$ROOT"/}/node*/logs)"
    sleep 1
  done
  log "ring complete: $(printf 'node%s ' "${started[@]}")up and seen by every running node, $(elapsed "$t0")"
}

cmd_up() {
  bash "$ROOT/scripts/ensure-tools.sh" system cassandra
  local all=()
  for ((i = 1; i <= NODES; i++)); do all+=("$i"); done
  start_nodes "${all[@]}"
}

cmd_down() {
  local i
  for ((i = 1; i <= NODES; i++)); do stop_pid "$(name_of "$i")" 60 >/dev/null & done
  wait
  log "all nodes stopped"
}

cmd_status() {
  local i pid rc=0
  for ((i = 1; i <= NODES; i++)); do
    if pid=$(pid_of "$(name_of "$i")"); then
      if [[ "$(proc_state "$pid")" == T ]]; then
        printf 'node%s  paused    pid %-8s cql %s:%s\n' "$i" "$pid" "$(address_of "$i")" "$CASSANDRA_CQL_PORT"
        rc=1
      elif port_open "$(address_of "$i")" "$CASSANDRA_CQL_PORT"; then
        printf 'node%s  up        pid %-8s cql %s:%s  jmx %s\n' "$i" "$pid" "$(address_of "$i")" "$CASSANDRA_CQL_PORT" "$(jmx_port_of "$i")"
      else
        printf 'node%s  starting  pid %-8s\n' "$i" "$pid"
        rc=1
      fi
    else
      printf 'node%s  down\n' "$i"
      rc=1
    fi
  done
  return "$rc"
}

cmd_signal() { # cmd_signal N SIGNAL
  local name pid
  name=$(name_of "$1")
  pid=$(pid_of "$name") || die "$name is not running"
  kill "-$2" "$pid"
  if [[ "$2" == KILL ]]; then
    local k
    for ((k = 0; k < 100; k++)); do pid_alive "$name" || break; sleep 0.1; done
    rm -f "$(pidfile_of "$name")"
  fi
  log "$name: sent SIG$2 (pid $pid)"
}

cmd_nodetool() {
  local i=$1
  shift
  local java_home
  java_home=$(find_java17) || die "no JDK 17 found"
  mkdir -p "$BASE_DIR/nodetool"
  # The client side of jvm17-clients.options; its log lines go to a file, not into the output.
  "$java_home/bin/java" -Xmx128m -Djava.net.preferIPv4Stack=true \
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED \
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED \
    --add-exports java.sql/java.sql=ALL-UNNAMED --add-exports java.base/java.lang.ref=ALL-UNNAMED \
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED \
    --add-opens java.base/java.lang.module=ALL-UNNAMED --add-opens java.base/jdk.internal.loader=ALL-UNNAMED \
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED \
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED --add-opens java.base/jdk.internal.module=ALL-UNNAMED \
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED \
    --add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED \
    "-Dlogback.configurationFile=$ROOT/infra/cassandra/logback.xml" "-Dcassandra.logdir=$BASE_DIR/nodetool" \
    -cp "$CASSANDRA_LIB/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$(jmx_port_of "$i")" "$@"
}

usage() {
  sed -n '2,/^# Env:/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}
  [[ -n "$cmd" ]] || usage
  shift
  mkdir -p "$BASE_DIR" "$PID_DIR"
  case "$cmd" in
    up | down | reset | start | stop | kill)
      # One state change at a time per profile (a test and a person may race).
      exec 9>"$BASE_DIR/cluster.lock"
      flock -w 600 9 || die "another cluster.sh has held ${BASE_DIR#"$ROOT"/}/cluster.lock for 10 minutes"
      ;;
  esac
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset)
      cmd_down
      rm -rf "$BASE_DIR"/node*/data
      log "data deleted"
      ;;
    start) node_arg "${1:-}"; start_nodes "$1" ;;
    stop) node_arg "${1:-}"; stop_pid "$(name_of "$1")" 60 || true ;;
    kill) node_arg "${1:-}"; cmd_signal "$1" KILL ;;
    pause) node_arg "${1:-}"; cmd_signal "$1" STOP ;;
    resume) node_arg "${1:-}"; cmd_signal "$1" CONT ;;
    nodetool) node_arg "${1:-}"; cmd_nodetool "$@" ;;
    contact-points) contact_points ;;
    -h | --help | help) usage ;;
    *) echo "unknown command '$cmd'" >&2; usage ;;
  esac
}

main "$@"
