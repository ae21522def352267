# shellcheck shell=bash disable=SC2034  # (variables here are used by the scripts that source it)
# Shared helpers for the Shortwave scripts. Source it, don't run it.
#
# Conventions:
#   .cache/  downloads and builds kept between runs (Cassandra jars, Go tools)   - git-ignored
#   .run/    runtime state (data, logs; SW_RUN_DIR moves it)                     - git-ignored
# Every long-running process is declared in a process-compose project and run by process-compose
# (the pc and stack_* functions below): the local stack (process-compose.yaml) and the throw-away
# nodes of scripts/cluster.sh (infra/cassandra/<profile>.yaml).

[[ -n "${SW_LIB_LOADED:-}" ]] && return 0
SW_LIB_LOADED=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$ROOT/.cache"
export SW_RUN_DIR=${SW_RUN_DIR:-$ROOT/.run}
RUN_DIR=$SW_RUN_DIR

# Ports of the local stack: infra/stack.env, unless the environment sets them.
while IFS='=' read -r key value; do
  [[ "$key" =~ ^SW_[A-Z0-9_]+$ && -z "${!key:-}" ]] && export "$key=$value"
done <"$ROOT/infra/stack.env"
CASSANDRA_CQL_PORT=$SW_CASSANDRA_CQL_PORT
CASSANDRA_STORAGE_PORT=$SW_CASSANDRA_STORAGE_PORT
REDIS_PORT=$SW_REDIS_PORT
NGINX_PORT=8080 # the listen line of nginx/env/local.conf
NGINX_STATUS_PORT=18080 # nginx/env/local.conf's status server, read by the nginx exporter only
# process-compose.yaml and the scripts run the pinned Node 24 (the `node` devDependency).
export PATH="$ROOT/node_modules/.bin:$PATH"

CASSANDRA_VERSION=5.0.8
CASSANDRA_LIB="$CACHE_DIR/cassandra/lib-$CASSANDRA_VERSION"
CASSANDRA_LIB_MARKER="$CASSANDRA_LIB/.complete"

INFRA_PARTS=(cassandra redis nginx)
SERVICES=(key-worker event-worker create-service redirect-service-1 redirect-service-2)
# The local observability stack (scripts/observe.sh; README "Local observability"): off unless asked for.
OBSERVE_PARTS=(prometheus jaeger redis-exporter nginx-exporter cassandra-exporter)

# What a person opens once the observability stack runs (the banners of start.sh and observe.sh).
observe_urls() {
  printf '    Prometheus: http://127.0.0.1:%s   (targets: /targets, alerts: /alerts)\n' "$SW_PROMETHEUS_PORT"
  printf '    Jaeger:     http://127.0.0.1:%s   (OTLP in: grpc 127.0.0.1:%s, http http://127.0.0.1:%s)\n' \
    "$SW_JAEGER_UI_PORT" "$SW_JAEGER_OTLP_GRPC_PORT" "$SW_JAEGER_OTLP_HTTP_PORT"
}

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

# ---------------------------------------------------------------- files

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

# log_since FILE OFFSET: what a process wrote to its log since OFFSET (the log's size when it was
# started). A log shorter than OFFSET was rolled over since (Cassandra rolls system.log to
# system.log.1 at start once it has grown past its rolling size): all of it is then new.
log_since() {
  local offset=$2
  (($(stat -c %s "$1" 2>/dev/null || echo 0) >= offset)) || offset=0
  tail -c "+$((offset + 1))" "$1" 2>/dev/null || true
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

# ---------------------------------------------------------------- process-compose projects
# One process-compose server per project, reached through its socket in PC_DIR: the local stack's
# (process-compose.yaml, PC_DIR=.run) unless a script points PC_DIR and PC_FILES at another
# (scripts/cluster.sh). A server starts with the first process started and ends when its last one ends.

PC_BIN="$CACHE_DIR/tools/bin/process-compose"
PC_DIR=$RUN_DIR
PC_FILES=(-f process-compose.yaml)

# Builds the pinned process-compose (infra/process-compose/go.mod, go.sum) unless that exact build
# is there, the way scripts/tools.ts builds k6. About 2 min cold.
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

# pc ARGS...: process-compose against the project's server. fd 9 (a caller's lock) is not passed on.
pc() {
  mkdir -p "$PC_DIR/process-compose/process-compose"
  (cd "$ROOT" && XDG_CONFIG_HOME="$PC_DIR/process-compose" "$PC_BIN" -U -u "$PC_DIR/process-compose.sock" \
    -L "$PC_DIR/process-compose/${PC_LOG:-client}.log" "$@" 9>&-)
}
pc_alive() { [[ -S "$PC_DIR/process-compose.sock" ]] && pc project state >/dev/null 2>&1; }

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
# stack_ready NAME [STATE]: STATE is a stack_state line the caller has already read.
stack_ready() {
  local status ready code
  read -r status ready code _ <<<"${2:-$(stack_state "$1")}"
  if [[ "$1" == migrate ]]; then [[ "$status $code" == "Completed 0" ]]; return; fi
  [[ "$status" == Running && ("$ready" == Ready || "$ready" == -) ]]
}

# stack_up NAME...: starts those of the named processes that are not running, together, and waits
# until each is ready. Running ones are reused; migrate runs again. Dependencies are the caller's.
stack_up() {
  local name t0 started=() waiting=() i
  t0=$(now)
  ensure_process_compose
  mkdir -p "$RUN_DIR"/{cassandra/logs,redis,nginx/logs,services,observe}
  for name in "$@"; do
    if [[ "$name" != migrate ]] && stack_ready "$name"; then log "$name: already running (pid $(stack_pid "$name")), reusing it"; continue; fi
    waiting+=("$name")
    stack_running "$name" || started+=("$name")
  done
  ((${#waiting[@]})) || return 0
  if ((${#started[@]} == 0)); then :
  elif ! pc_alive; then
    rm -f "$PC_DIR/process-compose.sock"
    PC_LOG=server pc up -D -t=false --disable-dotenv --ordered-shutdown --no-deps "${PC_FILES[@]}" "${started[@]}" >/dev/null
  else
    for name in "${started[@]}"; do pc process start "$name" >/dev/null; done
    # A one-shot that ran before still shows its last exit until the new run is under way.
    for ((i = 0; i < 50; i++)); do [[ " ${started[*]} " == *" migrate "* && "$(stack_state migrate)" == Completed* ]] || break; sleep 0.1; done
  fi
  for name in "${waiting[@]}"; do stack_wait_ready "$name" "$t0"; done
}

stack_wait_ready() { # stack_wait_ready NAME T0
  local state status code pid t=$SECONDS
  while ((SECONDS - t < ${SW_READY_TIMEOUT:-240})); do
    # One read per round, for both status and readiness: each read is a process-compose call, which
    # a loaded machine makes slow enough to delay noticing a readiness that is already there.
    state=$(stack_state "$1")
    read -r status _ code pid <<<"$state"
    [[ "$status" == Running ]] || pid=-
    stack_ready "$1" "$state" && { log "$1: ready in $(elapsed "$2") (pid $pid)"; return 0; }
    case "$status" in
      Completed | Error | Skipped) break ;;
      Disabled | "") ((SECONDS - t < 10)) || break ;; # not started (yet): the server is coming up
    esac
    sleep 0.3
  done
  show_tail 40 "$(stack_log "$1")"
  [[ "$(stack_log "$1")" != */logs/console.log ]] || show_tail 40 "$(dirname "$(stack_log "$1")")/system.log"
  die "$1: not ready (status ${status:-none}, exit code ${code:--}); log above: $(stack_log "$1")"
}

stack_log() {
  case "$1" in
    cassandra) echo "$RUN_DIR/cassandra/logs/console.log" ;;
    redis) echo "$RUN_DIR/redis/redis.log" ;;
    nginx) echo "$RUN_DIR/nginx/logs/nginx.out" ;;
    prometheus | jaeger | *-exporter) echo "$RUN_DIR/observe/$1.log" ;;
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

# stack_down: everything, dependents first, and the server.
stack_down() {
  local i
  pc_alive || return 0
  pc down >/dev/null 2>&1 || true
  for ((i = 0; i < 900; i++)); do pc_alive || break; sleep 0.1; done
  log "stack stopped"
}
