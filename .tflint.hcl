# tflint configuration for every module and example (tests/static runs it in each one).
# The aws ruleset binary is built by scripts/toolchain.sh into $TFLINT_PLUGIN_DIR; no source/version
# here so `tflint --init` never reaches for GitHub (the version is pinned in toolchain/versions.env).
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}

plugin "aws" {
  enabled    = true
  deep_check = false
}
