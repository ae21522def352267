#!/usr/bin/env bash
# Kept for scripts/test.sh, which calls it: the k6 smoke scenario as the npm test step (load-tests/run.ts).
exec "$(dirname "$0")/../node_modules/.bin/node" "$(dirname "$0")/../load-tests/run.ts" smoke --npm-test "$@"
