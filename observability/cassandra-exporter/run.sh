#!/usr/bin/env bash
# The Cassandra exporter of the local stack, declared in process-compose.yaml: the Prometheus JMX
# exporter's standalone server (fetched from Maven Central by scripts/tools.ts jmx-exporter) on
# the JDK 17 Cassandra runs on, reading the node over JMX. Outside Cassandra's JVM, so the node
# starts as always and the exporter comes and goes with `npm run observe` while the node runs on.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
DIR="$RUN_DIR/cassandra-exporter"
mkdir -p "$DIR"
envsubst '$SW_CASSANDRA_JMX_PORT' <"$ROOT/observability/cassandra-exporter/jmx-exporter.yml.template" >"$DIR/jmx-exporter.yml"
JAVA_HOME=$(find_java17) || die "no JDK 17 under /usr/lib/jvm (set SW_JAVA_HOME)"
exec "$JAVA_HOME/bin/java" -Xmx96m -XX:+UseSerialGC -jar "$CACHE_DIR/tools/jmx_prometheus_httpserver.jar" \
  "127.0.0.1:$SW_CASSANDRA_EXPORTER_PORT" "$DIR/jmx-exporter.yml"
