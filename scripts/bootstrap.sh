#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently, caching outside the repo:
# Debian packages, a Python venv keyed by the pinned versions, and the Go-built toolchain.
#   scripts/bootstrap.sh            everything
#   scripts/bootstrap.sh python     apt + venv only (fast; enough for generator work)
source "$(dirname "$0")/lib.sh"

install_apt() {
  local missing=()
  for p in $APT_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # Packaged daemons must not start on install: the lab runs its own instances in namespaces.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null; $sudo chmod +x /usr/sbin/policy-rc.d
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
}

install_venv() {
  local stamp="$VENV/.complete"
  if [ ! -f "$stamp" ]; then
    log "python: creating $VENV"
    rm -rf "$VENV"; python3 -m venv "$VENV"
    local cons="$VENV/constraints.txt"
    grep -E '^PY_[A-Z_]+=' "$REPO_ROOT/toolchain/versions.env" | sed -E 's/^PY_([A-Z_]+)=(.*)$/\1==\2/' \
      | tr 'A-Z_' 'a-z-' >"$cons"
    "$VENV/bin/pip" install -q -c "$cons" setuptools wheel
    # Dependencies only: the project itself is installed editable from whichever clone runs this.
    "$VENV/bin/pip" install -q -c "$cons" $(python3 - "$REPO_ROOT/pyproject.toml" <<'PY'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
print(" ".join(p["dependencies"] + p["optional-dependencies"]["test"]))
PY
)
    touch "$stamp"
  fi
  # Points the venv's `microseg` at this clone (cheap, so done every run).
  "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e "$REPO_ROOT" >/dev/null
}

install_checkov() {
  [ -x "$CHECKOV_VENV/bin/checkov" ] && return
  log "python: checkov $CHECKOV_VERSION into $CHECKOV_VENV"
  rm -rf "$CHECKOV_VENV"; python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION"
}

case "${1:-all}" in
  python) install_apt; install_venv; install_checkov ;;
  all) install_apt; install_venv; install_checkov; "$REPO_ROOT/scripts/toolchain.sh" all ;;
  *) die "usage: $0 [all|python]" ;;
esac
