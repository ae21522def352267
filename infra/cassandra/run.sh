#!/usr/bin/env bash
# One Cassandra node in the foreground, from the Maven jars: renders cassandra.yaml.template into
# NODE_DIR, reads jvm.options, execs java. Declared in process-compose.yaml (the local node) and
# infra/cassandra/<profile>.yaml (the test nodes of scripts/cluster.sh). Settings come from the environment:
#   NODE_DIR ADDRESS CQL_PORT STORAGE_PORT JMX_PORT   where and on which ports
#   CLUSTER SEEDS TOKEN                               the ring (TOKEN default 0, SEEDS default ADDRESS:STORAGE_PORT)
#   COMMITLOG (periodic|group, default periodic)  HEAP (default 1G)  DYNAMIC_SNITCH (default true)
#   EXTRA_JVM_OPTS (words)
set -euo pipefail
CONF_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$CONF_DIR/../.." && pwd)"
LIB="$ROOT/.cache/cassandra/lib-${CASSANDRA_VERSION:-5.0.8}"
: "${NODE_DIR:?} ${ADDRESS:?} ${CQL_PORT:?} ${STORAGE_PORT:?} ${JMX_PORT:?} ${CLUSTER:?}"
export CONF_DIR LIB NODE_DIR ADDRESS CQL_PORT STORAGE_PORT JMX_PORT CLUSTER
export SEEDS=${SEEDS:-$ADDRESS:$STORAGE_PORT} TOKEN=${TOKEN:-0} HEAP=${HEAP:-1G} COMMITLOG=${COMMITLOG:-periodic} DYNAMIC_SNITCH=${DYNAMIC_SNITCH:-true}
case "$COMMITLOG" in
  periodic) export COMMITLOG_TIMING='commitlog_sync_period: 10000ms' ;;
  group) export COMMITLOG_TIMING='commitlog_sync_group_window: 10ms' ;;
  *) echo "COMMITLOG must be periodic or group, not '$COMMITLOG'" >&2; exit 2 ;;
esac
[[ -f "$LIB/.complete" ]] || { echo "Cassandra jars missing in $LIB; run scripts/ensure-tools.sh" >&2; exit 1; }
# JDK 17: Cassandra 5.0 fails on JDK >= 18 (Security Manager), so JAVA_HOME is not trusted.
JAVA_HOME=${SW_JAVA_HOME:-$(ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -n 1)}
[[ -x "$JAVA_HOME/bin/java" ]] || { echo "no JDK 17 (run scripts/ensure-tools.sh or set SW_JAVA_HOME)" >&2; exit 1; }

mkdir -p "$NODE_DIR/data" "$NODE_DIR/logs" "$NODE_DIR/triggers"
vars='$CONF_DIR $LIB $NODE_DIR $ADDRESS $CQL_PORT $STORAGE_PORT $JMX_PORT $CLUSTER $SEEDS $TOKEN $HEAP $COMMITLOG $COMMITLOG_TIMING $DYNAMIC_SNITCH'
envsubst "$vars" <"$CONF_DIR/cassandra.yaml.template" >"$NODE_DIR/cassandra.yaml"
read -r -d '' -a opts < <(grep -v '^#' "$CONF_DIR/jvm.options" | envsubst "$vars") || true
# cassandra.in.sh adds these only when a full JDK (with jdk.compiler) is present.
[[ ! -x "$JAVA_HOME/bin/javac" ]] || opts+=(--add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED)
# Where this start's log begins: ready.sh only believes what comes after it.
stat -c %s "$NODE_DIR/logs/system.log" 2>/dev/null >"$NODE_DIR/logs/start-offset" || echo 0 >"$NODE_DIR/logs/start-offset"
cd "$NODE_DIR"
# shellcheck disable=SC2086 # EXTRA_JVM_OPTS is a list of words
exec "$JAVA_HOME/bin/java" "${opts[@]}" ${EXTRA_JVM_OPTS:-} -cp "$CONF_DIR:$LIB/*" org.apache.cassandra.service.CassandraDaemon
