#!/usr/bin/env bash
# The whole test suite, every tier, on a fresh machine: installs what it needs first (idempotent,
# cached in $MICROSEG_CACHE), then runs unit/property, static, plan and apply tests in parallel
# beside the VM lab, then the network-namespace lab (root only; serial, it owns the namespaces) and
# the mutation check.
#   scripts/test.sh                 everything
#   scripts/test.sh tests/unit -k x extra arguments go to pytest (the lab step is skipped)
source "$(dirname "$0")/lib.sh"
"$REPO_ROOT/scripts/bootstrap.sh" all
toolchain_env
cd "$REPO_ROOT"
start=$SECONDS
if [ $# -gt 0 ]; then exec python -m pytest "$@"; fi
[ "$(id -u)" = 0 ] || die "the lab tiers need root (ip netns, QEMU's networking); run as root or in CI"

# Side by side: the parallel tier spends most of its time waiting on provider waiters and moto
# (the machine ~90 % idle in its second half), the VM lab on its emulated CPU. The parallel tier's
# output is printed whole once it ends, so the log reads one tier at a time.
workers="${MICROSEG_TEST_WORKERS:-4}"
log "tests: unit, property, static, plan, apply (-n $workers), beside the VM lab"
parallel_log=$(mktemp)
trap 'rm -f "$parallel_log"' EXIT
# Niced: the VM lab's guests keep real-time timers (health intervals, BGP hold), the apply tests
# only wait longer for their turn on a core.
nice -n 5 python -m pytest -n "$workers" --dist loadfile --durations=25 -m "not lab and not vmlab" tests \
  >"$parallel_log" 2>&1 &  # exit 5 = nothing collected: a failure
parallel=$!
log "tests: VM lab (QEMU, the stock Debian kernel, the pod image; the peer fabric ~6-7 min of TCG)"
vm_rc=0
python -m pytest --durations=0 -p no:cacheprovider -m vmlab tests || vm_rc=$?
parallel_rc=0
wait "$parallel" || parallel_rc=$?
log "tests: unit, property, static, plan, apply: their output"
cat "$parallel_log"
[ "$parallel_rc" = 0 ] || die "unit, property, static, plan or apply tests failed (pytest exit $parallel_rc)"
[ "$vm_rc" = 0 ] || die "the VM lab failed (pytest exit $vm_rc)"

log "tests: network-namespace lab"
python -m pytest -m lab tests
# Each mutant breaks a promise of the rendered configs or the agent; some test must fail for each.
log "mutation check: every mutant must be killed (tests/mutation)"
python tests/mutation/run.py
log "all tiers passed in $((SECONDS - start))s"
