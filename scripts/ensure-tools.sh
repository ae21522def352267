#!/usr/bin/env bash
# Installs what the local stack needs. Every CI run and session starts on a fresh machine, so
# this must work from nothing, and must be cheap and silent when everything is already there.
#   - Debian packages: redis-server, nginx-light, JDK 17, maven, curl, iproute2, jq, gettext-base
#     (only if missing)
#   - process-compose, built pinned from infra/process-compose/go.mod (scripts/lib.sh)
#   - Cassandra jars from Maven Central into .cache/ (only if not fetched completely before)
#   - node_modules via npm ci (only if missing or older than package-lock.json)
#   - Debian's chromium and a font for the browser tests (tests/browser/, only if missing)
#
# Usage: ensure-tools.sh [system] [cassandra] [npm] [browser]    (no argument = all four;
# infra.sh up asks for "system cassandra" only, so the infra works without node_modules or a browser)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# ---------------------------------------------------------------- Debian packages

missing_packages() {
  command -v redis-server >/dev/null || echo redis-server
  command -v redis-cli >/dev/null || echo redis-tools
  command -v nginx >/dev/null || echo nginx-light
  command -v curl >/dev/null || echo curl
  command -v ss >/dev/null || echo iproute2
  command -v ps >/dev/null || echo procps
  command -v jq >/dev/null || echo jq
  command -v envsubst >/dev/null || echo gettext-base
  find_java17 >/dev/null || echo openjdk-17-jdk-headless
  # maven is only needed when the Cassandra jars still have to be fetched
  if ! cassandra_jars_ok && ! command -v mvn >/dev/null; then echo maven; fi
}

as_root() {
  if ((EUID == 0)); then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

apt_install() {
  log "installing Debian packages: $*"
  # Package postinst scripts would start system redis/nginx on their default ports; we run our
  # own instances, so tell invoke-rc.d not to start services (unless the image already does).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    created_policy=1
  fi
  local rc=0
  {
    as_root apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  } >"$CACHE_DIR/apt.log" 2>&1 || rc=$?
  ((created_policy)) && as_root rm -f "$policy"
  if ((rc != 0)); then
    show_tail 30 "$CACHE_DIR/apt.log"
    die "apt-get install failed (rc $rc)"
  fi
}

# The browser tests drive Debian's chromium with playwright-core (no browser download). Without
# recommends apt brings no font at all, and a page rendered in none is no page to look at.
missing_browser_packages() {
  [[ -x /usr/bin/chromium ]] || echo chromium
  [[ -d /usr/share/fonts/truetype/liberation ]] || echo fonts-liberation
}

# ---------------------------------------------------------------- Cassandra jars

cassandra_jars_ok() {
  [[ -f "$CASSANDRA_LIB_MARKER" && -f "$CASSANDRA_LIB/cassandra-all-$CASSANDRA_VERSION.jar" && -f "$CASSANDRA_LIB/jamm-0.4.0.jar" ]]
}

fetch_cassandra_jars() {
  cassandra_jars_ok && return 0
  log "fetching Cassandra $CASSANDRA_VERSION jars from Maven Central into ${CASSANDRA_LIB#"$ROOT"/}"
  local t0
  t0=$(now)
  # A folder without the marker is a previous interrupted fetch: start clean.
  rm -rf "$CASSANDRA_LIB"
  mkdir -p "$CASSANDRA_LIB" "$CACHE_DIR/m2"
  # mvn needs a JDK; give it the 17 one rather than whatever JAVA_HOME says.
  # Output goes to a file: even with -B -q, Debian's mvn prints stray ANSI codes.
  JAVA_HOME="$(find_java17)" mvn -B -ntp -q -f infra/cassandra/pom.xml \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$CASSANDRA_LIB" -DincludeScope=runtime -Dmaven.repo.local="$CACHE_DIR/m2" \
    >"$CACHE_DIR/mvn.log" 2>&1 || { show_tail 40 "$CACHE_DIR/mvn.log"; die "mvn copy-dependencies failed"; }
  [[ -f "$CASSANDRA_LIB/cassandra-all-$CASSANDRA_VERSION.jar" ]] || die "mvn ran but cassandra-all-$CASSANDRA_VERSION.jar is missing"
  [[ -f "$CASSANDRA_LIB/jamm-0.4.0.jar" ]] || die "mvn ran but jamm-0.4.0.jar is missing (needed as -javaagent)"
  printf 'cassandra %s, %s jars, fetched %s\n' "$CASSANDRA_VERSION" \
    "$(find "$CASSANDRA_LIB" -name '*.jar' | wc -l)" "$(date -u +%FT%TZ)" >"$CASSANDRA_LIB_MARKER"
  log "Cassandra jars ready ($(elapsed "$t0"))"
}

# ---------------------------------------------------------------- node_modules

npm_deps() {
  local quiet=(--no-audit --no-fund --loglevel=error)
  if [[ -f package-lock.json ]]; then
    # node_modules/.package-lock.json is rewritten by every npm install/ci, so it is the
    # reliable "installed at" timestamp (node_modules' own mtime is not).
    if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
      log "npm ci"
      npm ci "${quiet[@]}" || die "npm ci failed"
    fi
  elif [[ ! -d node_modules ]]; then
    warn "no package-lock.json yet: running 'npm install' (commit the lock file it writes)"
    npm install "${quiet[@]}" || die "npm install failed"
  fi
  if [[ ! -x node_modules/.bin/node ]]; then
    warn "node_modules/.bin/node is missing (the pinned Node 24); falling back to $(command -v node) $(node -v 2>/dev/null)"
  fi
}

main() {
  (($#)) || set -- system cassandra npm browser
  mkdir -p "$CACHE_DIR" "$RUN_DIR"
  local what
  for what in "$@"; do
    case "$what" in
      system)
        local pkgs
        mapfile -t pkgs < <(missing_packages)
        ((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"
        find_java17 >/dev/null || die "no JDK 17 under /usr/lib/jvm (set SW_JAVA_HOME)"
        ensure_process_compose
        ;;
      cassandra) fetch_cassandra_jars ;;
      npm) npm_deps ;;
      browser)
        local browser_pkgs
        mapfile -t browser_pkgs < <(missing_browser_packages)
        ((${#browser_pkgs[@]} == 0)) || apt_install "${browser_pkgs[@]}"
        ;;
      *) die "unknown part '$what' (expected: system cassandra npm browser)" ;;
    esac
  done
}

main "$@"
