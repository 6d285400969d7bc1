#!/usr/bin/env bash
# Builds the pinned Terraform toolchain from the Go module proxy into $MICROSEG_CACHE,
# keyed by version. Idempotent: a tool already in the cache is not rebuilt.
#   tofu                  -> $MICROSEG_CACHE/tofu/<v>/tofu
#   hashicorp/aws         -> $MICROSEG_CACHE/mirror/<key>/registry.opentofu.org/hashicorp/aws/<v>/linux_amd64/
#   tflint + ruleset-aws  -> $MICROSEG_CACHE/tflint/<v>/, $MICROSEG_CACHE/tflint-plugins/<v>/
source "$(dirname "$0")/lib.sh"
mkdir -p "$MICROSEG_CACHE"
exec 9>"$MICROSEG_CACHE/.toolchain.lock"
flock 9   # two concurrent runs would otherwise build the same tool twice

# go build with a progress line every 100 packages; time(1) records wall time and peak RSS.
build_with_progress() {  # $1 = label, $2 = log file, rest = command
  local label=$1 logf=$2; shift 2
  log "building $label (log: $logf)"
  local start=$SECONDS
  /usr/bin/time -v -o "$logf.time" "$@" >"$logf" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    printf '  %s: %4ds, %5d packages compiled\n' "$label" $((SECONDS - start)) "$(grep -c . "$logf" || true)" >&2
  done
  if ! wait "$pid"; then tail -30 "$logf" >&2; die "$label build failed"; fi
  local rss; rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$logf.time")
  log "$label built in $((SECONDS - start))s, peak RSS ${rss} MiB"
  echo "$label wall_s=$((SECONDS - start)) peak_rss_mib=$rss" >>"$MICROSEG_CACHE/build-times.txt"
}

module_dir() {  # downloads a module version and prints its (read-only) directory
  go mod download -json "$1@$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))'
}

build_tofu() {
  [ -x "$TOFU_BIN" ] && return
  local src; src=$(module_dir github.com/opentofu/opentofu "v$TOFU_VERSION")
  local work="$MICROSEG_CACHE/src/opentofu-$TOFU_VERSION"
  rm -rf "$work"; mkdir -p "$(dirname "$work")"; cp -r "$src" "$work"; chmod -R u+w "$work"
  mkdir -p "$(dirname "$TOFU_BIN")"
  (cd "$work" && build_with_progress "tofu $TOFU_VERSION" "$MICROSEG_CACHE/tofu/$TOFU_VERSION/build.log" \
    go build -v -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$TOFU_BIN.tmp" ./cmd/tofu)
  mv "$TOFU_BIN.tmp" "$TOFU_BIN"; rm -rf "$work"
}

build_provider() {
  local v=$AWS_PROVIDER_VERSION
  local dest="$PROVIDER_MIRROR/registry.opentofu.org/hashicorp/aws/$v/linux_amd64"
  local bin="$dest/terraform-provider-aws_v$v"
  if [ ! -x "$bin" ]; then
    local src; src=$(module_dir github.com/hashicorp/terraform-provider-aws "$AWS_PROVIDER_PSEUDO")
    [ "$(cat "$src/version/VERSION")" = "$v" ] || die "$AWS_PROVIDER_PSEUDO is not release $v"
    local work="$MICROSEG_CACHE/src/aws-$(provider_key)"
    rm -rf "$work"; mkdir -p "$(dirname "$work")"; cp -r "$src" "$work"; chmod -R u+w "$work"
    if [ "${MICROSEG_PROVIDER_FULL:-0}" != 1 ]; then
      python3 "$REPO_ROOT/toolchain/trim_provider.py" "$work" $AWS_PROVIDER_SERVICES
    fi
    mkdir -p "$dest"
    (cd "$work" && build_with_progress "hashicorp/aws $v ($(provider_key))" "$PROVIDER_MIRROR/build.log" \
      go build -v -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
    mv "$bin.tmp" "$bin"; rm -rf "$work"
  fi
  # No direct {} block: tofu init never reaches for a registry.
  cat >"$TOFU_CLI_CONFIG" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$PROVIDER_MIRROR"
    include = ["registry.opentofu.org/hashicorp/aws", "registry.terraform.io/hashicorp/aws"]
  }
}
CFG
  # Terraform users' lock files name registry.terraform.io: serve the same build there.
  mkdir -p "$PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws/$v"
  ln -sfn "$dest" "$PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws/$v/linux_amd64"
}

build_tflint() {
  if [ ! -x "$TFLINT_BIN" ]; then
    mkdir -p "$(dirname "$TFLINT_BIN")"
    GOBIN="$(dirname "$TFLINT_BIN")" build_with_progress "tflint $TFLINT_VERSION" "$(dirname "$TFLINT_BIN")/build.log" \
      go install -v -trimpath "github.com/terraform-linters/tflint@v$TFLINT_VERSION"
  fi
  if [ ! -x "$TFLINT_PLUGIN_DIR/tflint-ruleset-aws" ]; then
    mkdir -p "$TFLINT_PLUGIN_DIR"
    # Built from the downloaded module: `go install mod@v` asks the proxy for the module's version
    # list to check deprecation, and the proxy refuses that list for this module.
    local src; src=$(module_dir github.com/terraform-linters/tflint-ruleset-aws "v$TFLINT_RULESET_AWS_VERSION")
    (cd "$src" && build_with_progress "tflint-ruleset-aws $TFLINT_RULESET_AWS_VERSION" "$TFLINT_PLUGIN_DIR/build.log" \
      go build -v -trimpath -o "$TFLINT_PLUGIN_DIR/tflint-ruleset-aws" .)
  fi
}

case "${1:-all}" in
  tofu) build_tofu ;;
  provider) build_provider ;;
  tflint) build_tflint ;;
  all) build_tofu; build_tflint; build_provider ;;
  *) die "usage: $0 [all|tofu|provider|tflint]" ;;
esac
