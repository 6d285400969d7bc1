#!/usr/bin/env bash
# Builds the pinned Terraform toolchain from the Go module proxy into $MICROSEG_CACHE,
# keyed by version. Idempotent: a tool already in the cache is not rebuilt.
#   tofu                  -> $MICROSEG_CACHE/tofu/<v>/tofu
#   terraform             -> $MICROSEG_CACHE/terraform/<v>-<trim hash>/terraform
#   hashicorp/aws         -> $MICROSEG_CACHE/mirror/<key>/registry.opentofu.org/hashicorp/aws/<v>/linux_amd64/
#   tflint, ruleset-aws   -> $MICROSEG_CACHE/tflint/<v>/, $MICROSEG_CACHE/tflint-plugins/<v>/
#   scripts/toolchain.sh demo   tofu + provider (what the demo needs), concurrently
#   scripts/toolchain.sh all    every tool, concurrently
source "$(dirname "$0")/lib.sh"
mkdir -p "$MICROSEG_CACHE"

# ETA of a build: the tool's last recorded wall time on this machine (any version or key), else the
# reference measured on the project's 2-core build machine (toolchain/build-times.ref).
eta_of() {  # $1 = label
  local t
  t=$(grep -h "^${1%% *} " "$MICROSEG_CACHE/build-times.txt" 2>/dev/null | tail -1 | sed -E 's/.*wall_s=([0-9]+).*/\1/')
  [ -n "$t" ] || t=$(grep -h "^${1%% *} " "$REPO_ROOT/toolchain/build-times.ref" | awk "{print \$2}" 2>/dev/null)
  echo "${t:-0}"
}

build_with_progress() {  # $1 = label, $2 = log file, rest = command
  local label=$1 logf=$2; shift 2
  local eta; eta=$(eta_of "$label")
  log "building $label (log: $logf; about ${eta}s)"
  local start=$SECONDS
  /usr/bin/time -v -o "$logf.time" "$@" >"$logf" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    printf '  %-34s %4ds of ~%ds, %5d packages compiled\n' "$label:" $((SECONDS - start)) "$eta" \
      "$(grep -c . "$logf" || true)" >&2
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

build_terraform() {
  [ -x "$TERRAFORM_BIN" ] && return
  local src; src=$(module_dir github.com/hashicorp/terraform "v$TERRAFORM_VERSION")
  local work="$MICROSEG_CACHE/src/terraform-$TERRAFORM_VERSION"
  rm -rf "$work"; mkdir -p "$(dirname "$work")"; cp -r "$src" "$work"; chmod -R u+w "$work"
  python3 "$REPO_ROOT/toolchain/trim_terraform.py" "$work"
  mkdir -p "$(dirname "$TERRAFORM_BIN")"
  (cd "$work" && build_with_progress "terraform $TERRAFORM_VERSION" "$(dirname "$TERRAFORM_BIN")/build.log" \
    go build -v -trimpath -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" -o "$TERRAFORM_BIN.tmp" .)
  mv "$TERRAFORM_BIN.tmp" "$TERRAFORM_BIN"; rm -rf "$work"
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
  [ -x "$TFLINT_BIN" ] && return
  mkdir -p "$(dirname "$TFLINT_BIN")"
  GOBIN="$(dirname "$TFLINT_BIN")" build_with_progress "tflint $TFLINT_VERSION" "$(dirname "$TFLINT_BIN")/build.log" \
    go install -v -trimpath "github.com/terraform-linters/tflint@v$TFLINT_VERSION"
}

build_ruleset() {
  [ -x "$TFLINT_PLUGIN_DIR/tflint-ruleset-aws" ] && return
  mkdir -p "$TFLINT_PLUGIN_DIR"
  # Built from the downloaded module: `go install mod@v` asks the proxy for the module's version
  # list to check deprecation, and the proxy refuses that list for this module.
  local src; src=$(module_dir github.com/terraform-linters/tflint-ruleset-aws "v$TFLINT_RULESET_AWS_VERSION")
  (cd "$src" && build_with_progress "tflint-ruleset-aws $TFLINT_RULESET_AWS_VERSION" "$TFLINT_PLUGIN_DIR/build.log" \
    go build -v -trimpath -o "$TFLINT_PLUGIN_DIR/tflint-ruleset-aws" .)
}

# One lock per tool: two runs never build the same tool twice, different tools build concurrently.
locked() {  # $1 = tool, rest = command
  local tool=$1; shift
  (exec 9>"$MICROSEG_CACHE/.toolchain-$tool.lock"; flock 9; "$@")
}

# Runs the named builds concurrently, fails if any failed. Measured on 2 cores / 24 GiB: the
# trimmed provider and tofu together peak under 4 GiB; go build parallelism is per package, so
# two builds fill both cores where one leaves them idle during links and large single packages.
parallel() {
  local pids=() t rc=0
  for t in "$@"; do locked "$t" "build_$t" & pids+=($!); done
  for t in "${pids[@]}"; do wait "$t" || rc=1; done
  [ $rc = 0 ] || die "toolchain build failed"
}

case "${1:-all}" in
  tofu|terraform|provider|tflint|ruleset) locked "$1" "build_$1" ;;
  demo) parallel tofu provider ;;
  all) parallel tofu provider terraform tflint ruleset ;;
  *) die "usage: $0 [all|demo|tofu|terraform|provider|tflint|ruleset]" ;;
esac
