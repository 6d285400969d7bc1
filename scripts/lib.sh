# Shared shell helpers: sourced by the other scripts, never run on its own.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../toolchain/versions.env
source "$REPO_ROOT/toolchain/versions.env"
export MICROSEG_CACHE="${MICROSEG_CACHE:-$HOME/.cache/microseg}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

log() { printf '\033[1;34m[microseg]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[microseg] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Key for the provider build: the version plus the set of compiled service packages and the
# trim step itself (a change to how the provider is trimmed must rebuild it).
provider_key() {
  if [ "${MICROSEG_PROVIDER_FULL:-0}" = 1 ]; then echo "${AWS_PROVIDER_VERSION}-full"
  else echo "${AWS_PROVIDER_VERSION}-$( (echo "$AWS_PROVIDER_SERVICES" | tr ' ' '\n' | sort; cat "$REPO_ROOT/toolchain/trim_provider.py") | sha256sum | cut -c1-10)"; fi
}
TOFU_BIN="$MICROSEG_CACHE/tofu/$TOFU_VERSION/tofu"
TERRAFORM_BIN="$MICROSEG_CACHE/terraform/$TERRAFORM_VERSION-$(sha256sum "$REPO_ROOT/toolchain/trim_terraform.py" | cut -c1-10)/terraform"
PROVIDER_MIRROR="$MICROSEG_CACHE/mirror/$(provider_key)"
TFLINT_BIN="$MICROSEG_CACHE/tflint/$TFLINT_VERSION/tflint"
TFLINT_PLUGIN_DIR="$MICROSEG_CACHE/tflint-plugins/$TFLINT_RULESET_AWS_VERSION"
TOFU_CLI_CONFIG="$PROVIDER_MIRROR/tofu.tfrc"
CHECKOV_VENV="$MICROSEG_CACHE/checkov/$CHECKOV_VERSION"
# Keyed by the pins and the dependency lists only, so editing the rest of pyproject.toml keeps the venv.
VENV="$MICROSEG_CACHE/venv/py$(python3 -c 'import sys;print(f"{sys.version_info[0]}{sys.version_info[1]}")')-$( (grep -E '^PY_' "$REPO_ROOT/toolchain/versions.env"; python3 -c 'import sys,tomllib;p=tomllib.load(open(sys.argv[1],"rb"))["project"];print(p["dependencies"],p["optional-dependencies"])' "$REPO_ROOT/pyproject.toml") | sha256sum | cut -c1-10)"

# Environment every tofu/tflint call needs: the offline mirror and the plugin dir.
toolchain_env() {
  export PATH="$VENV/bin:$(dirname "$TOFU_BIN"):$(dirname "$TERRAFORM_BIN"):$(dirname "$TFLINT_BIN"):$CHECKOV_VENV/bin:$PATH"
  export TF_CLI_CONFIG_FILE="$TOFU_CLI_CONFIG"
  export TFLINT_PLUGIN_DIR
  # No TF_PLUGIN_CACHE_DIR: init links the provider straight from the unpacked mirror, and a shared
  # plugin cache races between concurrent inits (parallel tests, tofu and terraform alike).
  unset TF_PLUGIN_CACHE_DIR
  export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false BC_SKIP_MAPPING=TRUE
  export MICROSEG_TOFU="$TOFU_BIN" MICROSEG_TERRAFORM="$TERRAFORM_BIN" MICROSEG_TFLINT="$TFLINT_BIN"
}
