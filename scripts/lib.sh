# shellcheck shell=bash disable=SC2034  # (variables here are used by the scripts that source it)
# Shared helpers for the Shortwave scripts. Source it, don't run it.
#
# Conventions:
#   .cache/  downloads and builds kept between runs (Cassandra jars, Go tools)   - git-ignored
#   .run/    runtime state (data, logs; SW_RUN_DIR moves it)                     - git-ignored
# The local stack is process-compose.yaml, run by process-compose (the stack_* functions below).
# The throw-away Cassandra nodes of scripts/cluster.sh still use pidfiles (the pid_* functions):
#   <pid dir>/<name>.pid  line 1: "<pid> <start time in clock ticks since boot>"
#                         line 2: a fixed string that must appear in the process' command line
#   Both are checked before any signal is sent, so a recycled pid is never touched.

[[ -n "${SW_LIB_LOADED:-}" ]] && return 0
SW_LIB_LOADED=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$ROOT/.cache"
export SW_RUN_DIR=${SW_RUN_DIR:-$ROOT/.run}
RUN_DIR=$SW_RUN_DIR
PID_DIR="$RUN_DIR/pids"

# Ports of the local stack: infra/stack.env, unless the environment sets them.
while IFS='=' read -r key value; do
  [[ "$key" =~ ^SW_[A-Z0-9_]+$ && -z "${!key:-}" ]] && export "$key=$value"
done <"$ROOT/infra/stack.env"
CASSANDRA_CQL_PORT=$SW_CASSANDRA_CQL_PORT
CASSANDRA_STORAGE_PORT=$SW_CASSANDRA_STORAGE_PORT
REDIS_PORT=$SW_REDIS_PORT
NGINX_PORT=8080 # the listen line of nginx/env/local.conf
# process-compose.yaml and the scripts run the pinned Node 24 (the `node` devDependency).
export PATH="$ROOT/node_modules/.bin:$PATH"

CASSANDRA_VERSION=5.0.8
CASSANDRA_LIB="$CACHE_DIR/cassandra/lib-$CASSANDRA_VERSION"
CASSANDRA_LIB_MARKER="$CASSANDRA_LIB/.complete"

INFRA_PARTS=(cassandra redis nginx)
SERVICES=(key-worker create-service redirect-service-1 redirect-service-2)

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

# ---------------------------------------------------------------- the local stack
# process-compose.yaml, run by one process-compose server per .run dir, reached through its socket.
# A server starts with the first part started and ends when its last process ends.

PC_BIN="$CACHE_DIR/tools/bin/process-compose"
PC_SOCK="$RUN_DIR/process-compose.sock"

# Builds the pinned process-compose (infra/process-compose/go.mod, go.sum) unless that exact build
# is there, the way scripts/ensure-k6.sh builds k6. About 2 min cold.
ensure_process_compose() {
  local want tmp="$PC_BIN.tmp.$$"
  want=$(cat "$ROOT"/infra/process-compose/go.{mod,sum} | sha256sum | cut -d' ' -f1)
  [[ -x "$PC_BIN" && "$(cat "$PC_BIN.stamp" 2>/dev/null)" == "$want" ]] && return 0
  command -v go >/dev/null || die "process-compose must be built, and that needs Go >= 1.23"
  log "building process-compose from infra/process-compose/go.mod (about 2 min the first time)" >&2
  mkdir -p "$(dirname "$PC_BIN")" "$CACHE_DIR/go"
  (cd "$ROOT/infra/process-compose" && GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOFLAGS=-mod=mod \
    GOTOOLCHAIN=local GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" CGO_ENABLED=0 \
    go build -trimpath -ldflags='-s -w' -o "$tmp" github.com/f1bonacc1/process-compose/src) \
    >"$CACHE_DIR/go/process-compose-build.log" 2>&1 ||
    { show_tail 30 "$CACHE_DIR/go/process-compose-build.log"; die "building process-compose failed"; }
  mv -f "$tmp" "$PC_BIN"
  printf '%s\n' "$want" >"$PC_BIN.stamp"
}

# pc ARGS...: process-compose against this stack's server. fd 9 (a caller's lock) is not passed on.
pc() {
  mkdir -p "$RUN_DIR/process-compose/process-compose"
  (cd "$ROOT" && XDG_CONFIG_HOME="$RUN_DIR/process-compose" "$PC_BIN" -U -u "$PC_SOCK" \
    -L "$RUN_DIR/process-compose/${PC_LOG:-client}.log" "$@" 9>&-)
}
pc_alive() { [[ -S "$PC_SOCK" ]] && pc project state >/dev/null 2>&1; }

# stack_state NAME -> "<status> <readiness> <exit code> <pid>" (e.g. "Running Ready 0 1234"), or nothing.
stack_state() {
  pc_alive || return 0
  pc process list -o json 2>/dev/null |
    jq -r --arg n "$1" '.[] | select(.name == $n) | "\(.status) \(.is_ready | gsub(" "; "")) \(.exit_code) \(.pid)"'
}
stack_running() { [[ "$(stack_state "$1")" == Running* ]]; }
stack_any_running() { local name; for name in "$@"; do stack_running "$name" && return 0; done; return 1; }
stack_pid() { local s; s=$(stack_state "$1"); [[ "$s" == Running* ]] && printf '%s' "${s##* }"; }
# Ready: running and its readiness probe passes (or it has none); the one-shot migrate: exited 0.
stack_ready() {
  local status ready code
  read -r status ready code _ <<<"$(stack_state "$1")"
  if [[ "$1" == migrate ]]; then [[ "$status $code" == "Completed 0" ]]; return; fi
  [[ "$status" == Running && ("$ready" == Ready || "$ready" == -) ]]
}

# stack_up NAME...: starts those of the named processes that are not running, together, and waits
# until each is ready. Running ones are reused; migrate runs again. Dependencies are the caller's.
stack_up() {
  local name t0 started=() waiting=() i
  t0=$(now)
  ensure_process_compose
  mkdir -p "$RUN_DIR"/{cassandra/logs,redis,nginx/logs,services}
  for name in "$@"; do
    if [[ "$name" != migrate ]] && stack_ready "$name"; then log "$name: already running (pid $(stack_pid "$name")), reusing it"; continue; fi
    # Started by the older pidfile scripts (.run/pids/): reused as it is; npm stop stops it.
    if pid_alive "$name"; then log "$name: already running (pid $(pid_of "$name"), .run/pids/), reusing it"; continue; fi
    waiting+=("$name")
    stack_running "$name" || started+=("$name")
  done
  ((${#waiting[@]})) || return 0
  if ((${#started[@]} == 0)); then :
  elif ! pc_alive; then
    rm -f "$PC_SOCK"
    PC_LOG=server pc up -D -t=false --disable-dotenv --ordered-shutdown --no-deps -f process-compose.yaml "${started[@]}" >/dev/null
  else
    for name in "${started[@]}"; do pc process start "$name" >/dev/null; done
    # A one-shot that ran before still shows its last exit until the new run is under way.
    for ((i = 0; i < 50; i++)); do [[ " ${started[*]} " == *" migrate "* && "$(stack_state migrate)" == Completed* ]] || break; sleep 0.1; done
  fi
  for name in "${waiting[@]}"; do stack_wait_ready "$name" "$t0"; done
}

stack_wait_ready() { # stack_wait_ready NAME T0
  local status code t=$SECONDS
  while ((SECONDS - t < ${SW_READY_TIMEOUT:-240})); do
    # State first, then readiness: a one-shot that completes between the two reads is seen as done,
    # not as a final state that was never ready.
    read -r status _ code _ <<<"$(stack_state "$1")"
    stack_ready "$1" && { log "$1: ready in $(elapsed "$2") (pid $(stack_pid "$1" || echo -))"; return 0; }
    case "$status" in
      Completed | Error | Skipped) break ;;
      Disabled | "") ((SECONDS - t < 10)) || break ;; # not started (yet): the server is coming up
    esac
    sleep 0.3
  done
  show_tail 40 "$(stack_log "$1")"
  [[ "$1" != cassandra ]] || show_tail 40 "$RUN_DIR/cassandra/logs/system.log"
  die "$1: not ready (status ${status:-none}, exit code ${code:--}); log above: $(stack_log "$1")"
}

stack_log() {
  case "$1" in
    cassandra) echo "$RUN_DIR/cassandra/logs/console.log" ;;
    redis) echo "$RUN_DIR/redis/redis.log" ;;
    nginx) echo "$RUN_DIR/nginx/logs/nginx.out" ;;
    *) echo "$RUN_DIR/services/$1.log" ;;
  esac
}

# stack_stop NAME...: stops the named processes in parallel (SIGTERM, SIGKILL after each one's
# declared grace) and waits until they are gone. The server ends by itself once nothing runs.
stack_stop() {
  local name running=() t0 i
  t0=$(now)
  for name in "$@"; do stack_running "$name" && running+=("$name"); done
  ((${#running[@]})) || return 0
  for name in "${running[@]}"; do pc process stop "$name" >/dev/null 2>&1 & done
  wait
  for ((i = 0; i < 50; i++)); do stack_any_running "${running[@]}" || break; sleep 0.1; done
  log "stopped ${running[*]} ($(elapsed "$t0"))"
}

# stack_down: everything, dependents first, and the server; then processes of the older pidfile scripts.
stack_down() {
  local f i
  if pc_alive; then
    pc down >/dev/null 2>&1 || true
    for ((i = 0; i < 900; i++)); do pc_alive || break; sleep 0.1; done
    log "stack stopped"
  fi
  for f in "$PID_DIR"/*.pid; do [[ -e "$f" ]] && stop_pid "$(basename "$f" .pid)" 60; done
  return 0
}
