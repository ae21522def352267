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

nginx_cmd() { NGINX_CMD=(nginx -p "$DIR/" -c "$1/nginx.conf" -g "daemon off;$(nginx_user_directive "$ROOT/web")"); }

prepare() {
  local name out
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
