#!/usr/bin/env bash
# Prometheus of the local stack, declared in process-compose.yaml (Debian's prometheus package:
# scripts/ensure-tools.sh prometheus). Renders prometheus.yml.template with $ROOT and the ports of
# infra/stack.env, checks it with promtool (the rule files too), then runs Prometheus in the
# foreground on loopback, its data under .run/prometheus/.
#   run.sh           render, check, run
#   run.sh check DIR render and check into DIR only (tests/observability)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"

render() { # render DIR -> DIR/prometheus.yml, checked
  mkdir -p "$1"
  ROOT=$ROOT envsubst '$ROOT $SW_REDIS_EXPORTER_PORT $SW_NGINX_EXPORTER_PORT $SW_CASSANDRA_EXPORTER_PORT $SW_JAEGER_ADMIN_PORT $SW_PROMETHEUS_PORT' \
    <"$ROOT/observability/prometheus/prometheus.yml.template" >"$1/prometheus.yml"
  promtool check config "$1/prometheus.yml" >&2
}

if [[ "${1:-}" == check ]]; then render "${2:?usage: run.sh check DIR}"; exit; fi
DIR="$RUN_DIR/prometheus"
render "$DIR"
exec prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" --storage.tsdb.retention.time=7d \
  --web.listen-address="127.0.0.1:$SW_PROMETHEUS_PORT"
