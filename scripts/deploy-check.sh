#!/usr/bin/env bash
# Kept for scripts/test.sh, which calls it; the logic is scripts/deploy-check.ts.
exec "$(dirname "$0")/../node_modules/.bin/node" "$(dirname "$0")/deploy-check.ts" "$@"
