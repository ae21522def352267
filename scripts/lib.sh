# shellcheck shell=bash disable=SC2034  # (variables here are used by the scripts that source it)
# Shared helpers for the Shortwave local-stack scripts. Source it, don't run it.
#
# Conventions:
#   .cache/  downloads kept between runs (Cassandra jars, Maven repo)   - git-ignored
#   .run/    runtime state of the local stack (pids, data, logs)        - git-ignored
#   .run/pids/<name>.pid  every process the project started itself. Format:
#       line 1: "<pid> <start time in clock ticks since boot>"
#       line 2: a fixed string that must appear in the process' command line
#     Both are checked before any signal is sent, so a recycled pid or a
#     foreign process that happens to use our port is never touched.

[[ -n "${SW_LIB_LOADED:-}" ]] && return 0
SW_LIB_LOADED=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$ROOT/.cache"
RUN_DIR="$ROOT/.run"
PID_DIR="$RUN_DIR/pids"

# Ports of the local stack (loopback only, non-default so a system service is never disturbed).
CASSANDRA_CQL_PORT=19042
CASSANDRA_STORAGE_PORT=17000
CASSANDRA_JMX_PORT=17199
REDIS_PORT=16379
NGINX_PORT=8080 # the listen line of nginx/env/local.conf

CASSANDRA_VERSION=5.0.8
CASSANDRA_LIB="$CACHE_DIR/cassandra/lib-$CASSANDRA_VERSION"
CASSANDRA_LIB_MARKER="$CASSANDRA_LIB/.complete"

INFRA_PARTS=(cassandra redis nginx)

# ---------------------------------------------------------------- logging

_sw_tag() { printf '[shortwave %s]' "${SW_LOG_TAG:-$(basename "$0" .sh)}"; }
log()  { printf '%s %s\n' "$(_sw_tag)" "$*"; }
warn() { printf '%s WARNING: %s\n' "$(_sw_tag)" "$*" >&2; }
die()  { printf '%s ERROR: %s\n' "$(_sw_tag)" "$*" >&2; exit 1; }

# Wall-clock helpers: t0=$(now); ...; elapsed "$t0"  ->  "12.3s"
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# Print the last N lines of each existing file, labelled; used whenever something fails to start.
show_tail() {
  local n=$1; shift
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    printf -- '----- last %s lines of %s -----\n' "$n" "${f#"$ROOT"/}" >&2
    tail -n "$n" "$f" >&2
  done
  printf -- '-----\n' >&2
}

# ---------------------------------------------------------------- ports

# True if something accepts TCP connections on host:port. /dev/tcp avoids needing nc;
# the timeout guards against a black-holed connect.
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# Describe who listens on a port (for error messages only).
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n 3
}

# Refuse to start when a port we need is taken by something we did not start.
require_port_free() {
  local port=$1 what=$2
  if port_open 127.0.0.1 "$port"; then
    die "$what: port $port is already in use by a process this project did not start: $(port_owner "$port")"
  fi
}

# wait_for_port HOST PORT TIMEOUT_S [PIDNAME]
# Returns 0 when the port accepts connections, 1 on timeout, 2 if PIDNAME's process died first
# (no point in waiting 3 minutes for a JVM that exited after 2 seconds).
wait_for_port() {
  local host=$1 port=$2 timeout_s=$3 name=${4:-}
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    port_open "$host" "$port" && return 0
    if [[ -n "$name" ]] && ! pid_alive "$name"; then return 2; fi
    sleep 0.3
  done
  return 1
}

# ---------------------------------------------------------------- pidfiles

pidfile_of() { printf '%s/%s.pid' "$PID_DIR" "$1"; }

# Field 22 of /proc/PID/stat: start time of the process. Together with the pid it identifies
# one process for the machine's uptime, so a recycled pid is detected. The comm field can
# contain spaces and parentheses, hence the cut after the last ')'.
proc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # after "comm) " the fields start at field 3 (state); starttime is field 22 -> index 19
  awk '{print $20}' <<<"$stat"
}

proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  printf '%s' "${stat%% *}"
}

proc_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

# True while any thread of the process still runs. A zombie main thread alone is not "gone":
# an exiting JVM shows up as <defunct> while its other threads still finish the shutdown and
# still hold its ports. A zombie that is its own last thread is gone (just not reaped yet).
proc_running() {
  local state tasks
  state=$(proc_state "$1") || return 1
  [[ "$state" != Z ]] && return 0
  tasks=("/proc/$1/task/"*)
  ((${#tasks[@]} > 1))
}

# pid_of NAME -> prints the recorded pid if that exact process still runs, its start time
# matches and its command line still contains the recorded marker.
pid_of() {
  local file pid start marker
  file=$(pidfile_of "$1")
  [[ -r "$file" ]] || return 1
  { read -r pid start && IFS= read -r marker; } <"$file" || return 1
  [[ "$pid" =~ ^[0-9]+$ && -n "$start" && -n "$marker" ]] || return 1
  [[ "$(proc_starttime "$pid")" == "$start" ]] || return 1
  proc_running "$pid" || return 1
  # A zombie leader has an empty cmdline; the start time above already proves it is ours.
  [[ "$(proc_state "$pid")" == Z || "$(proc_cmdline "$pid")" == *"$marker"* ]] || return 1
  printf '%s' "$pid"
}

pid_alive() { pid_of "$1" >/dev/null; }

# Remove a pidfile whose process is gone; says so, so nobody wonders where it went.
clear_stale_pidfile() {
  local file
  file=$(pidfile_of "$1")
  if [[ -e "$file" ]] && ! pid_alive "$1"; then
    rm -f "$file"
    log "$1: removed stale pidfile"
  fi
}

# rotate_log FILE: a log over SW_LOG_MAX_BYTES (256 MiB) becomes FILE.1 (replacing the last one)
# before the process that appends to it starts again. Nothing else rotates the local stack's logs,
# and a benchmark writes gigabytes of access log.
rotate_log() {
  local file=$1 max=${SW_LOG_MAX_BYTES:-268435456}
  if [[ -f "$file" ]] && (($(stat -c %s "$file") > max)); then
    mv -f "$file" "$file.1"
    log "$(basename "$file"): over $max bytes; moved to $(basename "$file").1"
  fi
  return 0
}

# spawn_detached NAME LOGFILE MARKER WORKDIR -- CMD ARGS...
# Starts CMD in its own session (setsid: no controlling terminal, so no SIGHUP/SIGINT from
# the user's terminal), with stdin from /dev/null, stdout+stderr appended to LOGFILE and every
# other inherited fd closed. The last part matters: a parent that reads our output through a
# pipe (npm test, CI) would otherwise wait for EOF until the daemon exits, and a daemon that
# inherited infra.sh's lock fd would hold the lock forever. Records the pid (see top of file).
spawn_detached() {
  local name=$1 logfile=$2 marker=$3 workdir=$4
  shift 4
  [[ "${1:-}" == "--" ]] && shift
  mkdir -p "$PID_DIR" "$(dirname "$logfile")"
  rotate_log "$logfile"
  local tmp
  tmp="$PID_DIR/.$name.spawn.$$"
  rm -f "$tmp"
  # The inner shell writes its own pid and then execs CMD, so the pid stays the same. This works
  # whether or not setsid had to fork (it forks when the caller is a process-group leader).
  # The outer ( ... & ) makes init the parent: the caller (e.g. start.sh) neither has to reap
  # it nor prints "Killed" job notices when it is stopped.
  (setsid bash -c '
    pidtmp=$1 logfile=$2 workdir=$3
    shift 3
    for fd in /proc/$$/fd/*; do
      fd=${fd##*/}
      if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    cd "$workdir" || exit 127
    echo $$ >"$pidtmp"
    exec "$@" </dev/null >>"$logfile" 2>&1
  ' sw-spawn "$tmp" "$logfile" "$workdir" "$@" </dev/null >/dev/null 2>&1 &)
  local i pid=""
  for ((i = 0; i < 100; i++)); do
    if [[ -s "$tmp" ]]; then pid=$(<"$tmp"); break; fi
    sleep 0.05
  done
  rm -f "$tmp"
  [[ -n "$pid" ]] || die "$name: could not start (no pid after 5 s)"
  local start
  start=$(proc_starttime "$pid") || die "$name: exited immediately; see ${logfile#"$ROOT"/}"
  printf '%s %s\n%s\n' "$pid" "$start" "$marker" >"$(pidfile_of "$name")"
  # Give exec a moment so the marker check in pid_of() sees the final command line.
  for ((i = 0; i < 40; i++)); do
    pid_alive "$name" && return 0
    [[ -d "/proc/$pid" ]] || break
    sleep 0.05
  done
  pid_alive "$name" || {
    show_tail 20 "$logfile"
    die "$name: exited right after start; see ${logfile#"$ROOT"/}"
  }
}

# nginx_user_directive WEB_DIR -> "" or " user NAME;", for nginx -g. A root master drops its workers
# to nobody, who must read the web root. A checkout under a directory only its owner may enter
# (`mktemp -d` makes them 0700, and CI clones into one) is out of nobody's reach: the workers then
# run as the user running the stack, who can read it. tests/nginx/edge.ts makes the same choice.
nginx_user_directive() {
  ((EUID == 0)) || return 0
  runuser -u nobody -- test -r "$1/index.html" 2>/dev/null && return 0
  printf ' user %s;' "$(id -un)"
}

# thread_states PID -> "main thread Z; threads: 9 S, 1 D (wait: folio_wait_bit)": what a process
# that ignores its grace period is doing. A zombie main thread with live threads has exited but
# cannot finish (a thread stuck in the kernel, usually on I/O); a running one is still in JavaScript.
thread_states() {
  local task state counts="" wchan waits=""
  declare -A n=()
  for task in /proc/"$1"/task/*; do
    state=$(proc_state "$1/task/${task##*/}") || continue
    n[$state]=$((${n[$state]:-0} + 1))
    if [[ "$state" == D ]]; then
      wchan=$(cat "$task/wchan" 2>/dev/null || true)
      [[ -z "$wchan" || "$waits" == *"$wchan"* ]] || waits+="${waits:+, }$wchan"
    fi
  done
  for state in "${!n[@]}"; do counts+="${counts:+, }${n[$state]} $state"; done
  printf 'main thread %s; threads: %s%s' "$(proc_state "$1" || echo gone)" "${counts:-none}" "${waits:+ (D waiting in: $waits)}"
}

# stop_pid NAME [GRACE_S]
# SIGTERM, wait up to GRACE_S (default 15), then SIGKILL. Only ever signals the recorded,
# verified process. On SIGKILL the whole process group goes too, but only when the group is
# the one setsid created for this process (pgid == pid), e.g. nginx's workers.
# Prints what it did; returns 0 if something was stopped, 1 if nothing was running.
stop_pid() {
  local name=$1 grace=${2:-15}
  local pid file i
  file=$(pidfile_of "$name")
  if ! pid=$(pid_of "$name"); then
    if [[ -e "$file" ]]; then
      rm -f "$file"
      log "$name: not running (removed stale pidfile)"
    else
      log "$name: not running"
    fi
    return 1
  fi
  local t0
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do pid_alive "$name" || break; sleep 0.2; done
  if pid_alive "$name"; then
    warn "$name: still running ${grace}s after SIGTERM ($(thread_states "$pid")); sending SIGKILL"
    local pgid
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    if [[ "$pgid" == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
    for ((i = 0; i < 50; i++)); do pid_alive "$name" || break; sleep 0.1; done
  fi
  rm -f "$file"
  log "$name: stopped (pid $pid, $(elapsed "$t0"))"
  return 0
}

# ---------------------------------------------------------------- tools

# The JDK 17 that Cassandra 5.0 needs. JAVA_HOME is ignored on purpose: it may point at a newer
# JDK (Cassandra 5.0 fails on JDK >= 18: Security Manager). Override with SW_JAVA_HOME.
find_java17() {
  local d
  if [[ -n "${SW_JAVA_HOME:-}" ]]; then printf '%s' "$SW_JAVA_HOME"; return 0; fi
  for d in /usr/lib/jvm/java-17-openjdk-*; do
    [[ -x "$d/bin/java" ]] && { printf '%s' "$d"; return 0; }
  done
  return 1
}

# Node for the services: the project pins Node 24 through the `node` devDependency.
node_bin() {
  if [[ -x "$ROOT/node_modules/.bin/node" ]]; then
    printf '%s' "$ROOT/node_modules/.bin/node"
  else
    command -v node
  fi
}

# ---------------------------------------------------------------- Cassandra nodes
# One node = one directory holding cassandra.yaml, data/, logs/ and triggers/, started from the
# Maven jars. Shared by infra.sh (the dev node on 127.0.0.1) and cluster.sh (the three-node
# cluster on 127.0.0.11-13, the fault suite's node on 127.0.0.21).

# cassandra_node_yaml CLUSTER ADDRESS STORAGE_PORT CQL_PORT SEEDS TOKEN [COMMITLOG_SYNC]
# Prints the cassandra.yaml of one node. Data dirs come from -Dcassandra.storagedir.
# COMMITLOG_SYNC: periodic (default, Cassandra's: an fsync every 10 s and a replayable marker every
# 100 ms, so a crash of the process loses what was acknowledged in its last ~100 ms; replicas cover
# that) or group (a write is acknowledged only after the fsync of its 10 ms group: slower, but a
# lone node loses nothing it acknowledged).
cassandra_node_yaml() {
  local cluster=$1 address=$2 storage_port=$3 cql_port=$4 seeds=$5 token=$6 sync=${7:-periodic}
  local commitlog
  case "$sync" in
    periodic) commitlog=$'commitlog_sync: periodic\ncommitlog_sync_period: 10000ms' ;;
    group) commitlog=$'commitlog_sync: group\ncommitlog_sync_group_window: 10ms' ;;
    *) die "unknown commit log sync mode '$sync' (expected: periodic, group)" ;;
  esac
  cat <<YAML
cluster_name: $cluster
num_tokens: 1
# fixed token: no "Picking random token" warning, same ring on every fresh data dir
initial_token: $token
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$seeds"
listen_address: $address
rpc_address: $address
storage_port: $storage_port
native_transport_port: $cql_port
start_native_transport: true
$commitlog
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
auto_bootstrap: false
# tests create and drop keyspaces all the time; snapshots on DROP/TRUNCATE would only eat disk
auto_snapshot: false
concurrent_compactors: 1
# small caches: a dev box
key_cache_size: 32MiB
row_cache_size: 0MiB
counter_cache_size: 8MiB
prepared_statements_cache_size: 16MiB
file_cache_size: 128MiB
# From Cassandra 5's conf/cassandra_latest.yaml. Memtable cells off the heap: far fewer and
# shorter garbage-collection pauses under sustained writes. Paxos v2: a lightweight transaction
# (each key-worker claim batch, each alias) in fewer round trips and writes than v1.
memtable_allocation_type: offheap_objects
paxos_variant: v2
YAML
}

# JVM flags: Cassandra 5.0's conf/jvm-server.options + jvm17-server.options + cassandra-env.sh,
# minus what needs tarball-only files (CompileCommandFile, sigar natives) and AlwaysPreTouch.
# cassandra_node_opts JAVA_HOME HEAP NODE_DIR JMX_PORT  ->  CASSANDRA_OPTS
# Crash-safe: infra.sh adds its dev-only speed-ups on top (see there); cluster.sh does not.
cassandra_node_opts() {
  local java_home=$1 heap=$2 dir=$3 jmx_port=$4
  local lib=$CASSANDRA_LIB
  CASSANDRA_OPTS=(
    "-Xms$heap" "-Xmx$heap" -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1RSetUpdatingPauseTimePercent=5 -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
    -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
    -ea -da:net.openhft...
    -Djava.net.preferIPv4Stack=true -Dchronicle.analytics.disable=true
    # JPMS: without these 5.0 dies on JDK 17 (e.g. "FileDescriptor.fd ... does not opens java.io")
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    "-javaagent:$lib/jamm-0.4.0.jar"
    "-Dcassandra.config=file://$dir/cassandra.yaml"
    "-Dcassandra.storagedir=$dir/data"
    "-Dcassandra.logdir=$dir/logs"
    "-Dlogback.configurationFile=$ROOT/infra/cassandra/logback.xml"
    -Dcassandra-foreground=yes
    # an (empty) triggers dir, else a WARN "Trigger directory doesn't exist" on schema changes
    "-Dcassandra.triggers_dir=$dir/triggers"
    "-Dcassandra.jmx.local.port=$jmx_port"
    # pin the RMI port too, otherwise local JMX opens a second, random port
    "-Dcom.sun.management.jmxremote.rmi.port=$jmx_port"
    -Dcom.sun.management.jmxremote.authenticate=false
    # fast start: skip the ~8 s gossip settle wait
    -Dcassandra.skip_wait_for_gossip_to_settle=0
  )
  # cassandra.in.sh adds these only when a full JDK (with jdk.compiler) is present.
  if [[ -x "$java_home/bin/javac" ]]; then
    CASSANDRA_OPTS+=(
      --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
      --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
      --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    )
  fi
}

# The java command line of a node whose CASSANDRA_OPTS are set (cassandra_node_opts).
cassandra_node_cmd() { # cassandra_node_cmd JAVA_HOME  ->  CASSANDRA_CMD
  CASSANDRA_CMD=("$1/bin/java" "${CASSANDRA_OPTS[@]}" -cp "$ROOT/infra/cassandra:$CASSANDRA_LIB/*" org.apache.cassandra.service.CassandraDaemon)
}

# What pid_of checks in a node's command line: its own cassandra.yaml.
cassandra_node_marker() { printf -- '-Dcassandra.config=file://%s/cassandra.yaml' "$1"; }

# Bytes in a node's system.log so far: cassandra_node_wait_ready only reads what comes after.
cassandra_log_offset() { stat -c %s "$1/logs/system.log" 2>/dev/null || echo 0; }

# cassandra_node_wait_ready PIDNAME NODE_DIR ADDRESS CQL_PORT TIMEOUT_S T0 LOG_OFFSET
# Ready = the CQL port accepts connections AND this start's log says the native transport is
# up (the port alone can open a moment before the server accepts queries). Dies with the
# node's logs when it exits or times out.
cassandra_node_wait_ready() {
  local name=$1 dir=$2 address=$3 port=$4 timeout_s=$5 t0=$6 offset=$7
  local syslog="$dir/logs/system.log"
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if ! pid_alive "$name"; then
      show_tail 40 "$syslog" "$dir/logs/console.log"
      die "$name: process exited during startup (logs above)"
    fi
    if port_open "$address" "$port" &&
      tail -c "+$((offset + 1))" "$syslog" 2>/dev/null | grep -q 'Starting listening for CQL clients'; then
      log "$name: ready on $address:$port in $(elapsed "$t0") (pid $(pid_of "$name"))"
      return 0
    fi
    sleep 0.5
  done
  show_tail 40 "$syslog" "$dir/logs/console.log"
  die "$name: not ready after ${timeout_s}s (logs above); it is still running"
}
