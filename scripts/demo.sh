#!/usr/bin/env bash
# The main job end to end on the embedded default: generate tfvars from examples/inventory.csv,
# apply examples/complete against a moto server started for this run, summarise what was built,
# verify the packet path, destroy. Installs what it needs first (idempotent, cached).
#   scripts/demo.sh [--keep]     --keep leaves the moto server and state up for exploring
source "$(dirname "$0")/lib.sh"
"$REPO_ROOT/scripts/bootstrap.sh" demo
toolchain_env
exec python "$REPO_ROOT/scripts/demo.py" "$@"
