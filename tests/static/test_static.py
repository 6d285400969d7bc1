"""Static tier: fmt, validate, tflint (with the AWS ruleset) and checkov over every module and example."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tfharness import REPO, TfRoot

pytestmark = pytest.mark.static

MODULES = sorted(p.parent.relative_to(REPO).as_posix() for p in REPO.glob("modules/*/main.tf"))
EXAMPLES = sorted(p.parent.relative_to(REPO).as_posix() for p in REPO.glob("examples/*/main.tf"))
# Root modules the pipelines apply (one per account): validated, linted and laid out like modules.
STACKS = sorted(p.parent.relative_to(REPO).as_posix() for p in REPO.glob("stacks/*/main.tf"))


def _run(cmd: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)


def test_there_is_something_to_check() -> None:
    assert "modules/workload-vpc" in MODULES, MODULES
    assert EXAMPLES, "no examples found"
    assert STACKS == ["stacks/network", "stacks/workloads"], STACKS


def test_fmt() -> None:
    proc = _run(
        [
            os.environ.get("MICROSEG_TOFU", "tofu"),
            "fmt",
            "-check",
            "-recursive",
            "-diff",
            "modules",
            "stacks",
            "examples",
        ]
    )
    assert proc.returncode == 0, f"tofu fmt -check found unformatted files:\n{proc.stdout}{proc.stderr}"


def _assert_valid(tf: TfRoot) -> None:
    """`validate` passes with no warning either (a deprecation today is an error tomorrow)."""
    result = tf.validate()
    assert result["valid"], json.dumps(result["diagnostics"], indent=2)
    warnings = [d for d in result["diagnostics"] if d["severity"] == "warning"]
    assert not warnings, json.dumps(warnings, indent=2)


@pytest.mark.parametrize("root", MODULES + STACKS + EXAMPLES)
def test_validate_and_tflint(root: str, tmp_path: Path) -> None:
    tf = TfRoot(REPO / root, tmp_path)
    _assert_valid(tf)
    lint = _run(
        [
            os.environ.get("MICROSEG_TFLINT", "tflint"),
            f"--chdir={tf.dir}",
            f"--config={REPO / '.tflint.hcl'}",
            "--format=compact",
            "--minimum-failure-severity=notice",
        ],
    )
    assert lint.returncode == 0, f"tflint findings in {root}:\n{lint.stdout}{lint.stderr}"


@pytest.mark.parametrize("root", MODULES + STACKS + EXAMPLES)
def test_validate_with_terraform(root: str, tmp_path: Path) -> None:
    # Bank pipelines mostly run Terraform: every module and example must be valid for both CLIs.
    _assert_valid(TfRoot(REPO / root, tmp_path, cli="terraform"))


def test_terraform_cli_is_the_pinned_build() -> None:
    out = _run([os.environ.get("MICROSEG_TERRAFORM", "terraform"), "version", "-json"])
    assert out.returncode == 0, out.stderr
    version = json.loads(out.stdout)["terraform_version"]
    pinned = re.search(r"^TERRAFORM_VERSION=(\S+)$", (REPO / "toolchain/versions.env").read_text(), re.M)
    assert pinned and version == pinned[1], (version, pinned)


def test_tflint_aws_ruleset_is_loaded(tmp_path: Path) -> None:
    # Guards against a silently missing plugin: an invalid instance type must be reported.
    (tmp_path / "main.tf").write_text(
        'terraform {\n  required_version = ">= 1.6"\n  required_providers {\n    aws = {\n'
        '      source  = "hashicorp/aws"\n      version = ">= 6.0"\n    }\n  }\n}\n\n'
        'resource "aws_instance" "x" {\n  ami           = "ami-12345678"\n'
        '  instance_type = "t9.nonexistent"\n}\n'
    )
    lint = _run(
        [
            os.environ.get("MICROSEG_TFLINT", "tflint"),
            f"--chdir={tmp_path}",
            "--format=compact",
            f"--config={REPO / '.tflint.hcl'}",
        ]
    )
    assert "aws_instance_invalid_type" in lint.stdout, lint.stdout + lint.stderr


@pytest.mark.parametrize("tree", ["modules", "stacks", "examples"])
def test_checkov(tree: str) -> None:
    proc = _run(
        [
            "checkov",
            "--quiet",
            "--compact",
            "--framework",
            "terraform",
            "--output",
            "json",
            "--download-external-modules",
            "false",
            "-d",
            tree,
        ]
    )
    reports = json.loads(proc.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 0, f"checkov checked nothing:\n{proc.stderr[-3000:]}"
    assert not failed, "checkov findings (fix, or skip in code with a reason):\n  " + "\n  ".join(failed)


def test_module_readme_tables_are_current() -> None:
    proc = _run([sys.executable, "scripts/docs_tables.py", "--check"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("module", MODULES + STACKS)
def test_module_layout(module: str) -> None:
    files = {p.name for p in (REPO / module).iterdir()}
    missing = {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} - files
    assert not missing, f"{module} lacks {sorted(missing)}"
    assert "BEGIN_TF_DOCS" in (REPO / module / "README.md").read_text()


def test_ruff() -> None:
    for cmd in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        proc = _run([sys.executable, "-m", *cmd])
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_tofu_cli_config_is_offline() -> None:
    # The generated CLI config must only know the filesystem mirror: no direct {} fallback.
    cfg = Path(os.environ["TF_CLI_CONFIG_FILE"]).read_text()
    assert "filesystem_mirror" in cfg
    assert "direct" not in cfg, cfg
    mirror = Path(cfg.split('path    = "')[1].split('"')[0])
    binaries = list(
        mirror.glob("registry.opentofu.org/hashicorp/aws/*/linux_amd64/terraform-provider-aws_v*")
    )
    assert len(binaries) == 1, binaries


TF_TREES = ("modules", "stacks", "examples")
TYPE_DECL = re.compile(r'^\s*(resource|data|ephemeral)\s+"(aws_[a-z0-9_]+)"', re.MULTILINE)


def _used_types() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {"resource": set(), "data": set(), "ephemeral": set()}
    for tree in TF_TREES:
        for tf in (REPO / tree).rglob("*.tf"):
            if ".terraform" not in tf.parts:
                for kind, name in TYPE_DECL.findall(tf.read_text()):
                    used[kind].add(name)
    return used


def test_built_provider_has_every_type_we_use(tmp_path: Path) -> None:
    # The provider is compiled with a subset of its services (toolchain/trim_provider.py): a
    # resource type of a service left out would only fail at validate time of the root that uses
    # it. This checks every type any module, stack or example declares, in one place.
    (tmp_path / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n    }\n  }\n}\n'
    )
    tofu = os.environ.get("MICROSEG_TOFU", "tofu")
    init = _run([tofu, "init", "-backend=false", "-input=false", "-no-color"], cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    proc = _run([tofu, "providers", "schema", "-json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = next(iter(json.loads(proc.stdout)["provider_schemas"].values()))
    have = {
        "resource": set(schema.get("resource_schemas", {})),
        "data": set(schema.get("data_source_schemas", {})),
        "ephemeral": set(schema.get("ephemeral_resource_schemas", {})),
    }
    used = _used_types()
    assert len(used["resource"]) > 20, used
    missing = [f"{kind} {name}" for kind in used for name in sorted(used[kind] - have[kind])]
    assert not missing, (
        "types used by the modules but not compiled into the provider (add their service package to "
        "AWS_PROVIDER_SERVICES in toolchain/versions.env):\n  " + "\n  ".join(missing)
    )
    if os.environ.get("MICROSEG_PROVIDER_FULL") != "1":
        # The check sees the trimmed build: a type of a service we do not use is absent.
        assert "aws_s3_bucket" not in have["resource"]
