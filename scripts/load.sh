#!/usr/bin/env bash
# Kept for load-tests/bench/bench.ts, which calls it; `npm run load` runs load-tests/run.ts directly.
exec "$(dirname "$0")/../node_modules/.bin/node" "$(dirname "$0")/../load-tests/run.ts" "$@"
