#!/usr/bin/env bash
# Prints the path of a schemathesis CLI (PyPI), installing it first into a venv under .cache/
# (git-ignored) when it is missing or another version. Quiet and cheap when it is there.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034 # read by log() in lib.sh
SW_LOG_TAG=schemathesis

VERSION=4.32.5
VENV="$CACHE_DIR/schemathesis-venv"
BIN="$VENV/bin/schemathesis"

if [[ -x "$BIN" ]] && [[ "$("$BIN" --version 2>/dev/null)" == *"$VERSION"* ]]; then
  printf '%s\n' "$BIN"
  exit 0
fi
command -v python3 >/dev/null || die "python3 is missing (Debian: apt-get install python3 python3-venv)"
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  log "installing python3-venv" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
log "installing schemathesis $VERSION into ${VENV#"$ROOT"/}" >&2
rm -rf "$VENV"
mkdir -p "$CACHE_DIR"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >"$CACHE_DIR/schemathesis-pip.log" 2>&1 ||
  { show_tail 30 "$CACHE_DIR/schemathesis-pip.log"; die "pip install schemathesis==$VERSION failed"; }
printf '%s\n' "$BIN"
