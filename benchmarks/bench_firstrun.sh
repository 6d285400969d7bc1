#!/usr/bin/env bash
# First-run benchmark: runs the demo (or CI's test command) from a wiped cache, then again warm,
# and prints each step's wall time and peak RSS, the whole run's wall time and the machine's peak
# memory in use (concurrent builds add up), from one run.
#   benchmarks/bench_firstrun.sh demo       ./scripts/demo.sh cold, then warm
#   benchmarks/bench_firstrun.sh ci         .ci/run cold, then warm
#   benchmarks/bench_firstrun.sh bootstrap  what .ci/run installs before its tests (scripts/bootstrap.sh all)
# The wiped cache is a new MICROSEG_CACHE, GOCACHE, GOMODCACHE and no pip cache; Debian packages
# already installed on the machine are reported as such (the script never removes packages).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-demo}
case "$what" in
  demo) cmd=(./scripts/demo.sh) ;;
  ci) cmd=(bash .ci/run) ;;
  bootstrap) cmd=(./scripts/bootstrap.sh all) ;;
  *) echo "usage: $0 [demo|ci|bootstrap]" >&2; exit 2 ;;
esac
root=$(mktemp -d /var/tmp/microseg-firstrun.XXXXXX)
export MICROSEG_CACHE=$root/cache GOCACHE=$root/go-build GOMODCACHE=$root/gomod PIP_NO_CACHE_DIR=1
echo "first-run benchmark of '${cmd[*]}' with an empty cache in $root"

# Peak memory in use on the whole machine while a command runs (MiB), sampled every 2 s.
run_measured() {  # $1 = label, rest = command
  local label=$1; shift
  local base; base=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
  ( peak=0; while sleep 2; do
      a=$(awk '/MemAvailable/ {print $2}' /proc/meminfo); used=$(( (base - a) / 1024 ))
      [ $used -gt $peak ] && peak=$used && echo $peak >"$root/peak-$label"
    done ) & local sampler=$!
  local start=$SECONDS rc=0
  "$@" >"$root/$label.log" 2>&1 || rc=$?
  kill $sampler 2>/dev/null || true
  echo "$label wall_s=$((SECONDS - start)) rc=$rc machine_peak_mib=$(cat "$root/peak-$label" 2>/dev/null || echo 0)" \
    >>"$root/runs.txt"
  return $rc
}

# A failing run is still timed and reported (then the benchmark exits non-zero).
failed=0
run_measured cold "${cmd[@]}" || { failed=1; tail -40 "$root/cold.log"; }
cp "$MICROSEG_CACHE/build-times.txt" "$root/steps.txt" 2>/dev/null || : >"$root/steps.txt"
run_measured warm "${cmd[@]}" || { failed=1; tail -40 "$root/warm.log"; }

printf '\n%-38s %10s %14s\n' "step (cold)" "wall s" "peak RSS MiB"
while read -r step rest; do
  wall=$(sed -nE 's/.*wall_s=([0-9]+).*/\1/p' <<<"$rest")
  rss=$(sed -nE 's/.*peak_rss_mib=([0-9]+).*/\1/p' <<<"$rest")
  printf '%-38s %10s %14s\n' "$step ${rest%% wall_s=*}" "$wall" "${rss:--}"
done <"$root/steps.txt" | sed -E 's/ +wall_s=[^ ]*//'
grep -q '^apt ' "$root/steps.txt" || echo "apt                                    (packages already installed on this machine: not measured)"
printf '\n%-10s %10s %24s\n' run "wall s" "machine peak in use MiB"
while read -r label rest; do
  printf '%-10s %10s %24s\n' "$label" "$(sed -nE 's/.*wall_s=([0-9]+).*/\1/p' <<<"$rest")" \
    "$(sed -nE 's/.*machine_peak_mib=([0-9]+).*/\1/p' <<<"$rest")"
done <"$root/runs.txt"
echo "logs: $root/{cold,warm}.log (remove $root when done: it holds a full cache)"
exit $failed
