#!/usr/bin/env bash
# nginx of the local stack, declared in process-compose.yaml. It reads a conf dir, never nginx/ in
# place: the shared nginx/*.conf plus the files of nginx/env/ named in SW_NGINX_ENV (default
# "local"; "local load-test" lifts the per-client limits, see nginx/README.md), assembled next to
# the live one, tested, and only then swapped in, so a broken edit never reaches a running nginx.
#   run.sh           prepare, then nginx in the foreground
#   run.sh prepare   only assemble, test and swap in; prints "changed" or "same"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
DIR="$SW_RUN_DIR/nginx"
NEXT="$DIR/conf.next"

nginx_cmd() { NGINX_CMD=(nginx -p "$DIR/" -c "$1/nginx.conf" -g "daemon off;$(nginx_user_directive "$ROOT/web/dist")"); }

# The page it serves is built by `npm start` and `npm test` (web/build.ts); `infra.sh up nginx` on its
# own builds it when it is missing and node_modules is there, and serves 404 at / otherwise.
web_page() {
  [[ -f "$ROOT/web/dist/index.html" ]] && return 0
  if [[ -x "$ROOT/node_modules/node/bin/node" ]]; then
    "$ROOT/node_modules/node/bin/node" "$ROOT/web/build.ts" >&2 || warn "nginx: building the web page failed (npm run build:web)"
  else
    warn "nginx: web/dist/ is missing: / answers 404 until npm install and npm run build:web"
  fi
}

prepare() {
  local name out
  web_page
  rm -rf "$NEXT"
  mkdir -p "$NEXT/env.d" "$DIR/logs"
  cp "$ROOT"/nginx/*.conf "$NEXT/"
  for name in ${SW_NGINX_ENV:-local}; do
    [[ -f "$ROOT/nginx/env/$name.conf" ]] || die "nginx: SW_NGINX_ENV names '$name', but nginx/env/$name.conf does not exist"
    cp "$ROOT/nginx/env/$name.conf" "$NEXT/env.d/"
  done
  nginx_cmd "$NEXT"
  if ! out=$("${NGINX_CMD[@]}" -t 2>&1); then
    # Point at the files to edit, not at their copies.
    printf '%s\n' "$out" | sed -e "s#$NEXT/env.d/#nginx/env/#g" -e "s#$NEXT/#nginx/#g" >&2
    die "nginx: configuration test failed (nginx/*.conf with env: ${SW_NGINX_ENV:-local})"
  fi
  if diff -r "$NEXT" "$DIR/conf" >/dev/null 2>&1; then rm -rf "$NEXT"; echo same; return; fi
  rm -rf "$DIR/conf"
  mv "$NEXT" "$DIR/conf"
  echo changed
}

# The names come from the last `infra.sh up nginx`, which wrote the caller's SW_NGINX_ENV there:
# process-compose starts nginx with the server's environment, not the caller's.
[[ ! -f "$DIR/env-names" ]] || SW_NGINX_ENV=$(<"$DIR/env-names")
if [[ "${1:-}" == prepare ]]; then prepare; exit; fi
prepare >/dev/null
rotate_log "$DIR/logs/access.log" # a benchmark writes gigabytes of it (docs/benchmarks.md)
nginx_cmd "$DIR/conf"
exec "${NGINX_CMD[@]}"
