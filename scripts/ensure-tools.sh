#!/usr/bin/env bash
# Installs what the local stack needs, from nothing (every CI run starts on a fresh machine), and is
# cheap and silent when all is there. Bash, not TypeScript: it installs node_modules, and with them
# the pinned Node 24 that runs the TypeScript tools (scripts/tools.ts).
#   system     Debian packages (redis, nginx, JDK 17, curl, jq, ...) and process-compose (lib.sh)
#   cassandra  the Cassandra jars from Maven Central into .cache/
#   npm        node_modules via npm ci, when missing or older than package-lock.json
#   browser    Debian's chromium and a font for tests/browser/
#   web        the page nginx serves, web/dist/ (web/build.ts; needs npm first)
#   prometheus Debian's prometheus, for its promtool (tests/observability checks observability/rules/)
#              and the server of the local observability stack (scripts/observe.sh)
#   redis-exporter  Debian's prometheus-redis-exporter (oliver006/redis_exporter), for scripts/observe.sh only
# Usage: ensure-tools.sh [system] [cassandra] [npm] [browser] [web] [prometheus] [redis-exporter]   (none = all
# but redis-exporter; infra.sh up asks for "system cassandra" only, so the infra works without node_modules or a browser)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

jars_ok() { [[ -f "$CASSANDRA_LIB_MARKER" && -f "$CASSANDRA_LIB/cassandra-all-$CASSANDRA_VERSION.jar" && -f "$CASSANDRA_LIB/jamm-0.4.0.jar" ]]; }
as_root() { if ((EUID == 0)); then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root (or sudo) for: $*"; fi; }

apt_install() { # apt_install [COMMAND:PACKAGE | /PATH:PACKAGE | :PACKAGE]...: those whose command or path is missing
  local want=() spec
  # A path is tested as a path, a command only on PATH: `-e nginx` in the checkout's root is the
  # nginx/ directory, which once hid a missing nginx.
  for spec in "$@"; do
    if [[ ${spec%%:*} == /* ]]; then [[ -e ${spec%%:*} ]]; else command -v "${spec%%:*}" >/dev/null; fi || want+=("${spec#*:}")
  done
  ((${#want[@]})) || return 0
  log "installing Debian packages: ${want[*]}"
  # Their postinst would start system redis/nginx on default ports; we run our own instances.
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  [[ -e $policy ]] || { printf '#!/bin/sh\nexit 101\n' | as_root tee $policy >/dev/null && as_root chmod 755 $policy && created=1; }
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"; } \
    >"$CACHE_DIR/apt.log" 2>&1 || rc=$?
  ((!created)) || as_root rm -f $policy
  ((rc == 0)) || { show_tail 30 "$CACHE_DIR/apt.log"; die "apt-get install failed (rc $rc)"; }
}

fetch_cassandra_jars() {
  jars_ok && return 0
  log "fetching Cassandra $CASSANDRA_VERSION jars from Maven Central into ${CASSANDRA_LIB#"$ROOT"/}"
  rm -rf "$CASSANDRA_LIB" # no marker: an interrupted fetch
  mkdir -p "$CASSANDRA_LIB" "$CACHE_DIR/m2"
  # The JDK 17, whatever JAVA_HOME says; a log file, since even -B -q mvn prints stray ANSI codes.
  JAVA_HOME="$(find_java17)" mvn -B -ntp -q -f infra/cassandra/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$CASSANDRA_LIB" -DincludeScope=runtime -Dmaven.repo.local="$CACHE_DIR/m2" >"$CACHE_DIR/mvn.log" 2>&1 ||
    { show_tail 40 "$CACHE_DIR/mvn.log"; die "mvn copy-dependencies failed"; }
  touch "$CASSANDRA_LIB_MARKER"
  jars_ok || { rm -f "$CASSANDRA_LIB_MARKER"; die "mvn ran but cassandra-all-$CASSANDRA_VERSION.jar or jamm-0.4.0.jar (the -javaagent) is missing"; }
}

npm_deps() {
  # node_modules/.package-lock.json is rewritten by every npm install/ci: the reliable "installed at".
  [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]] && return 0
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
}

(($#)) || set -- system cassandra npm browser web prometheus
mkdir -p "$CACHE_DIR" "$RUN_DIR"
for part in "$@"; do
  case "$part" in
    system)
      specs=(redis-server:redis-server redis-cli:redis-tools nginx:nginx-light curl:curl ss:iproute2 ps:procps jq:jq envsubst:gettext-base)
      find_java17 >/dev/null || specs+=(:openjdk-17-jdk-headless)
      jars_ok || specs+=(mvn:maven) # only while the Cassandra jars still have to be fetched
      apt_install "${specs[@]}"
      find_java17 >/dev/null || die "no JDK 17 under /usr/lib/jvm (set SW_JAVA_HOME)"
      ensure_process_compose ;;
    cassandra) fetch_cassandra_jars ;;
    npm) npm_deps ;;
    # playwright-core drives Debian's chromium; without recommends apt brings no font at all.
    browser) apt_install /usr/bin/chromium:chromium /usr/share/fonts/truetype/liberation:fonts-liberation ;;
    # Rebuilt every time: under a second, and a page older than its sources is never served.
    web) "$ROOT/node_modules/node/bin/node" web/build.ts || die "building the web page failed" ;;
    # promtool ships in the server's package; policy-rc.d (apt_install) keeps the server from starting.
    prometheus) apt_install promtool:prometheus ;;
    # The Go module proxy does not serve redis_exporter here; Debian packages a release of it.
    redis-exporter) apt_install prometheus-redis-exporter:prometheus-redis-exporter ;;
    *) die "unknown part '$part' (expected: system cassandra npm browser web prometheus redis-exporter)" ;;
  esac
done
