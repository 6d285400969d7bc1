#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently, caching outside the repo:
# Debian packages, a Python venv keyed by the pinned versions, and the Go-built toolchain.
# The Python and Debian steps run beside the Go builds (they wait on the network, not the CPU).
#   scripts/bootstrap.sh            everything the tests need
#   scripts/bootstrap.sh demo       only what the demo needs: tofu, the provider, the venv, graphviz
#   scripts/bootstrap.sh python     apt + venvs only (fast; enough for generator work)
source "$(dirname "$0")/lib.sh"

# Wall time of a Python/Debian step, beside the Go builds' records (bench_firstrun.sh reads them).
record() { echo "$1 wall_s=$((SECONDS - $2))" >>"$MICROSEG_CACHE/build-times.txt"; }

install_apt() {  # $@ = packages
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt: installing ${missing[*]}"
  local start=$SECONDS
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # Packaged daemons must not start on install: the lab runs its own instances in namespaces.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null; $sudo chmod +x /usr/sbin/policy-rc.d
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
  record apt "$start"
}

install_venv() {
  local stamp="$VENV/.complete"
  if [ ! -f "$stamp" ]; then
    log "python: creating $VENV"
    local start=$SECONDS
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
    record venv "$start"
  fi
  # Points the venv's `microseg` at this clone (cheap, so done every run).
  "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e "$REPO_ROOT" >/dev/null
}

install_checkov() {
  [ -x "$CHECKOV_VENV/bin/checkov" ] && return
  log "python: checkov $CHECKOV_VERSION into $CHECKOV_VENV"
  local start=$SECONDS
  rm -rf "$CHECKOV_VENV"; python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION"
  record checkov "$start"
}

# Python/Debian steps in the background beside the Go builds; any failure fails the bootstrap.
with_toolchain() {  # $1 = toolchain target, rest = python-side steps (functions)
  local target=$1; shift
  ( set -e; exec 8>"$MICROSEG_CACHE/.python.lock"; flock 8; for step in "$@"; do $step; done ) & local py=$!
  local rc=0
  "$REPO_ROOT/scripts/toolchain.sh" "$target" || rc=1
  wait $py || rc=1
  [ $rc = 0 ] || die "bootstrap failed"
}

vm_image() { "$REPO_ROOT/scripts/vmimage.sh"; }
apt_demo() { install_apt $APT_PACKAGES_DEMO; }
apt_all() { install_apt $APT_PACKAGES_DEMO $APT_PACKAGES; }

mkdir -p "$MICROSEG_CACHE"
case "${1:-all}" in
  python) (exec 8>"$MICROSEG_CACHE/.python.lock"; flock 8; apt_all; install_venv; install_checkov) ;;
  demo) with_toolchain demo apt_demo install_venv ;;
  all) with_toolchain all apt_all install_venv install_checkov vm_image ;;
  *) die "usage: $0 [all|demo|python]" ;;
esac
