#!/usr/bin/env bash
# npm stop: stops everything of the local stack (process-compose.yaml): the Node services first
# (SIGTERM, up to 15 s to drain, then SIGKILL), then nginx, Redis and Cassandra, then the
# process-compose server.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
stack_down
