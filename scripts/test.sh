#!/usr/bin/env bash
# The whole test suite, every tier, on a fresh machine: installs what it needs first (idempotent,
# cached in $MICROSEG_CACHE), then runs unit/property, static, plan and apply tests in parallel,
# then the network-namespace lab (root only; serial, it owns the namespaces), the mutation check,
# then the VM lab.
#   scripts/test.sh                 everything
#   scripts/test.sh tests/unit -k x extra arguments go to pytest (the lab step is skipped)
source "$(dirname "$0")/lib.sh"
"$REPO_ROOT/scripts/bootstrap.sh" all
toolchain_env
cd "$REPO_ROOT"
start=$SECONDS
if [ $# -gt 0 ]; then exec python -m pytest "$@"; fi

# Apply tests mostly wait on provider waiters, so more workers than cores pays off.
workers="${MICROSEG_TEST_WORKERS:-4}"
log "tests: unit, property, static, plan, apply (-n $workers)"
python -m pytest -n "$workers" --dist loadfile --durations=25 -m "not lab and not vmlab" tests  # exit 5 = nothing collected: a failure
if [ "$(id -u)" = 0 ]; then
  log "tests: network-namespace lab"
  python -m pytest -m lab tests
else
  die "the lab tier needs root (ip netns); run as root or in CI"
fi
# Each mutant breaks a promise of the rendered configs or the agent; some test must fail for each.
log "mutation check: every mutant must be killed (tests/mutation)"
python tests/mutation/run.py
# Serial: QEMU's software emulation needs both cores for itself.
log "tests: VM lab (QEMU, the stock Debian kernel, the pod image)"
python -m pytest --durations=0 -m vmlab tests  # the peer fabric (vmpeer) included: ~6-7 min of TCG
log "all tiers passed in $((SECONDS - start))s"
