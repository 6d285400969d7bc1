#!/usr/bin/env bash
# The whole test suite, every tier, on a fresh machine: installs what it needs first (idempotent,
# cached in $MICROSEG_CACHE), then runs the VM lab in the background and, beside it, unit/property,
# static, plan and apply tests in parallel, the network-namespace lab (root only; serial, it owns the
# namespaces) and the mutation check.
#   scripts/test.sh                 everything
#   scripts/test.sh tests/unit -k x extra arguments go to pytest (the lab step is skipped)
source "$(dirname "$0")/lib.sh"
"$REPO_ROOT/scripts/bootstrap.sh" all
toolchain_env
cd "$REPO_ROOT"
start=$SECONDS
if [ $# -gt 0 ]; then exec python -m pytest "$@"; fi
[ "$(id -u)" = 0 ] || die "the lab tiers need root (ip netns, QEMU's networking); run as root or in CI"

# Side by side: the VM lab spends its time on its emulated CPU, the other tiers mostly wait on provider
# waiters and moto (the machine ~90 % idle in the parallel tier's second half). The VM lab starts
# first and runs through; the parallel tier, then the network-namespace lab and the mutation check run
# beside it. The VM lab's output is printed whole when it ends, so the log reads one tier at a time.
workers="${MICROSEG_TEST_WORKERS:-4}"
err() { printf '\033[1;31m[microseg] error:\033[0m %s\n' "$*" >&2; }
log "tests: VM lab (QEMU, the stock Debian kernel, the pod image) in the background; its output follows the other tiers"
vm_log=$(mktemp)
python -m pytest --durations=0 -p no:cacheprovider -m vmlab tests >"$vm_log" 2>&1 &
vm=$!
trap 'kill "$vm" 2>/dev/null || true; rm -f "$vm_log"' EXIT
rc=0
log "tests: unit, property, static, plan, apply (-n $workers), beside the VM lab"
# Niced: the VM lab's guests keep real-time timers (health intervals, BGP hold), the apply tests
# only wait longer for their turn on a core. Exit 5 (nothing collected) is a failure too.
nice -n 10 python -m pytest -n "$workers" --dist loadfile --durations=25 -m "not lab and not vmlab" tests ||
  { rc=$?; err "unit, property, static, plan or apply tests failed (pytest exit $rc)"; }
if [ "$rc" = 0 ]; then
  log "tests: network-namespace lab, beside the VM lab"
  python -m pytest -m lab tests || { rc=$?; err "the network-namespace lab failed (pytest exit $rc)"; }
fi
if [ "$rc" = 0 ]; then
  # Each mutant breaks a promise of the rendered configs or the agent; some test must fail for each.
  log "mutation check: every mutant must be killed (tests/mutation), beside the VM lab"
  python tests/mutation/run.py || { rc=$?; err "the mutation check failed (exit $rc)"; }
fi
vm_rc=0
wait "$vm" || vm_rc=$?
log "tests: VM lab: its output"
cat "$vm_log"
[ "$vm_rc" = 0 ] || die "the VM lab failed (pytest exit $vm_rc)"
[ "$rc" = 0 ] || die "a tier failed (above)"
log "all tiers passed in $((SECONDS - start))s"
