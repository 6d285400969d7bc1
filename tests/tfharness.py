"""A thin harness around the real `tofu` binary: init (offline), plan JSON, apply, re-plan, destroy.

Why our own and not tftest: we need the plan JSON, an explicit list of emulator differences on
re-plan, and a destroy check against the sandbox; tftest would wrap the same subprocess calls and
add a dependency. Every call goes to the real tofu and the real hashicorp/aws provider.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TOFU = os.environ.get("MICROSEG_TOFU", "tofu")
TERRAFORM = os.environ.get("MICROSEG_TERRAFORM", "terraform")
# The static and plan tiers run with both CLIs (bank pipelines mostly run Terraform); the apply
# tier runs with tofu only (the providers and the state format are the same).
CLIS = {"tofu": TOFU, "terraform": TERRAFORM}
TIMEOUT = int(os.environ.get("MICROSEG_TOFU_TIMEOUT", "1200"))
# MICROSEG_TOFU_STREAM=1 echoes apply/destroy progress live to stderr (the demo and debugging).
STREAM = os.environ.get("MICROSEG_TOFU_STREAM") == "1"
REGION = os.environ.get("MICROSEG_REGION", "us-east-1")


class TofuError(AssertionError):
    pass


def _mirror_tree(src: Path, dest_root: Path) -> Path:
    """Copy `src` into dest_root at the same repo-relative path; symlink everything beside it.

    Relative module sources (../../modules/x) keep working, and .terraform, state and lock files
    land in the temporary copy, never in the repository.
    """
    rel = src.resolve().relative_to(REPO)
    here, target = REPO, dest_root
    target.mkdir(parents=True, exist_ok=True)
    for part in rel.parts:
        for entry in here.iterdir():
            if entry.name != part and not entry.name.startswith(".") and not (target / entry.name).exists():
                (target / entry.name).symlink_to(entry)
        here, target = here / part, target / part
        target.mkdir(exist_ok=True)
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "*.tfplan")
    shutil.copytree(src, target, dirs_exist_ok=True, ignore=ignore)
    return target


@dataclass
class TfRoot:
    """One root (a module example) working in a private copy under tmp_path, run by `cli`
    ("tofu" or "terraform")."""

    src: Path
    tmp_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cli: str = "tofu"

    def __post_init__(self) -> None:
        self.src = Path(self.src)
        self.dir = _mirror_tree(self.src, Path(self.tmp_path) / "tree")
        self._varfile = Path(self.tmp_path) / "test.tfvars.json"
        self.initialised = False

    # --- raw calls -------------------------------------------------------------------------
    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        cmd = [CLIS[self.cli], f"-chdir={self.dir}", *args]
        if STREAM and args and args[0] in ("apply", "destroy"):
            proc = _run_streaming(cmd, env)
        else:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if check and proc.returncode not in (0,):
            raise TofuError(
                f"{self.cli} {' '.join(args)} failed ({proc.returncode}) in {self.src}:\n"
                f"{proc.stderr[-6000:]}\n{proc.stdout[-3000:]}"
            )
        return proc

    def _var_args(self, vars: dict[str, Any] | None, var_files: tuple[str | Path, ...] = ()) -> list[str]:
        args = [f"-var-file={Path(f).resolve()}" for f in var_files]
        if vars:
            self._varfile.write_text(json.dumps(vars, indent=2, sort_keys=True))
            args.append(f"-var-file={self._varfile}")
        return args

    # --- lifecycle -------------------------------------------------------------------------
    def init(self, backend: bool = True) -> None:
        if not self.initialised:
            self.run("init", "-no-color", "-input=false", *([] if backend else ["-backend=false"]))
            self.initialised = True

    def validate(self) -> dict[str, Any]:
        self.init(backend=False)
        return json.loads(self.run("validate", "-json", "-no-color", check=False).stdout)

    def plan(
        self, vars: dict[str, Any] | None = None, var_files: tuple[str | Path, ...] = ()
    ) -> dict[str, Any]:
        self.init()
        out = Path(self.tmp_path) / "plan.tfplan"
        self.run("plan", "-no-color", "-input=false", f"-out={out}", *self._var_args(vars, var_files))
        return json.loads(self.run("show", "-json", str(out)).stdout)

    def apply(self, vars: dict[str, Any] | None = None, var_files: tuple[str | Path, ...] = ()) -> None:
        self.init()
        self.run("apply", "-no-color", "-input=false", "-auto-approve", *self._var_args(vars, var_files))

    def output(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {k: v["value"] for k, v in raw.items()}

    def state(self) -> dict[str, Any]:
        return json.loads(self.run("show", "-json").stdout)

    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource in the state, in every module, by address: its attribute values."""
        out: dict[str, dict[str, Any]] = {}

        def walk(mod: dict[str, Any]) -> None:
            for r in mod.get("resources", []):
                out[r["address"]] = r["values"]
            for child in mod.get("child_modules", []):
                walk(child)

        walk(self.state().get("values", {}).get("root_module", {}))
        return out

    def assert_no_changes(
        self,
        vars: dict[str, Any] | None = None,
        var_files: tuple[str | Path, ...] = (),
        emulator_diffs: dict[str, str] | None = None,
    ) -> list[str]:
        """A second plan must be empty, except addresses listed with the emulator's reason.

        Returns the allowed differences ("address: reason") so a test can print them.
        """
        emulator_diffs = emulator_diffs or {}
        plan = self.plan(vars, var_files)
        allowed, unexpected = [], []
        for rc in plan.get("resource_changes", []):
            actions = rc["change"]["actions"]
            if actions in (["no-op"], ["read"]):
                continue
            reason = next(
                (r for pat, r in emulator_diffs.items() if fnmatch.fnmatch(rc["address"], pat)), None
            )
            line = f"{rc['address']} {actions}: {_changed_attrs(rc)}"
            (allowed if reason else unexpected).append(f"{line} (emulator: {reason})" if reason else line)
        if unexpected:
            raise AssertionError("second plan is not empty:\n  " + "\n  ".join(unexpected))
        return allowed

    def destroy(self, vars: dict[str, Any] | None = None, var_files: tuple[str | Path, ...] = ()) -> None:
        self.run("destroy", "-no-color", "-input=false", "-auto-approve", *self._var_args(vars, var_files))
        left = self.run("state", "list").stdout.split()
        assert not left, f"destroy left resources in state: {left}"


def _run_streaming(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        print(f"    {line.rstrip()}", file=sys.stderr, flush=True)
    stderr = proc.stderr.read() if proc.stderr else ""
    return subprocess.CompletedProcess(cmd, proc.wait(timeout=TIMEOUT), "".join(lines), stderr)


def _changed_attrs(rc: dict[str, Any]) -> str:
    before, after = rc["change"].get("before") or {}, rc["change"].get("after") or {}
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return ", ".join(keys[:12]) or "(replace/other)"


# --- plan_summary: compare a plan with a small YAML inventory (cloud-foundation-fabric style) ---
@dataclass
class Summary:
    values: dict[str, dict[str, Any]]
    counts: dict[str, int]
    outputs: dict[str, Any]


def plan_summary(plan: dict[str, Any]) -> Summary:
    values: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            if res.get("mode") == "data":
                continue
            values[res["address"]] = res.get("values", {})
            counts[res["type"]] = counts.get(res["type"], 0) + 1
        for child in module.get("child_modules", []):
            counts["modules"] = counts.get("modules", 0) + 1
            walk(child)

    walk(plan.get("planned_values", {}).get("root_module", {}))
    counts["resources"] = len(values)
    outputs = {k: v.get("value") for k, v in plan.get("planned_values", {}).get("outputs", {}).items()}
    return Summary(values, counts, outputs)


def _subset_diff(path: str, expected: Any, actual: Any) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [d for k, v in expected.items() for d in _subset_diff(f"{path}.{k}", v, actual.get(k))]
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in _subset_diff(f"{path}[{i}]", e, a)
        ]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def assert_inventory(summary: Summary, inventory: str | Path | dict[str, Any]) -> None:
    """Every value and count listed in the inventory must match the plan; unlisted ones are free."""
    inv = inventory if isinstance(inventory, dict) else yaml.safe_load(Path(inventory).read_text())
    problems: list[str] = []
    for address, attrs in (inv.get("values") or {}).items():
        if address not in summary.values:
            problems.append(f"{address}: not in plan (have {len(summary.values)} resources)")
            continue
        problems += _subset_diff(address, attrs, summary.values[address])
    for kind, n in (inv.get("counts") or {}).items():
        if summary.counts.get(kind, 0) != n:
            problems.append(f"count {kind}: expected {n}, got {summary.counts.get(kind, 0)}")
    for name, value in (inv.get("outputs") or {}).items():
        problems += _subset_diff(f"output.{name}", value, summary.outputs.get(name))
    assert not problems, "plan does not match inventory:\n  " + "\n  ".join(problems)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# moto's default account: what the static "testing" credentials map to.
MOTO_DEFAULT_ACCOUNT = "123456789012"


def moto_env(
    endpoint: str, account_id: str | None = None, role_name: str = "microseg-pipeline"
) -> dict[str, str]:
    """Environment that points boto3 and the aws provider (AWS_ENDPOINT_URL) at moto only.

    `account_id`: run as that moto account (a pipeline's own account). moto maps an access key to an
    account: the static "testing" key is MOTO_DEFAULT_ACCOUNT, and the key of a role assumed in account
    X through moto's STS belongs to X (the role need not exist). So this assumes
    `arn:aws:iam::<account_id>:role/<role_name>` and returns those session credentials. moto forgets them
    on reset: call this after resetting the server.
    """
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PROFILE": "",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if account_id is None or account_id == MOTO_DEFAULT_ACCOUNT:
        return env
    import boto3

    def sts(keys: dict[str, str]):  # type: ignore[no-untyped-def]
        return boto3.client("sts", region_name=REGION, endpoint_url=endpoint, **keys)

    creds = sts({"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}", RoleSessionName="microseg-tests"
    )["Credentials"]
    keys = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    seen = sts(keys).get_caller_identity()["Account"]
    assert seen == account_id, f"moto maps the assumed role's key to {seen}, not {account_id}"
    env |= {
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": keys["aws_session_token"],
    }
    return env


REAL_AWS = os.environ.get("MICROSEG_REAL_AWS") == "1"


@dataclass
class Sandbox:
    """Where apply tests run: moto (default) or a real AWS sandbox account."""

    env: dict[str, str]
    real: bool

    def client(self, service: str):  # type: ignore[no-untyped-def]
        kw = {"region_name": self.env.get("AWS_REGION", REGION)}
        if not self.real:
            # The sandbox's own keys: moto maps them to its account (tfharness.moto_env).
            kw |= {
                "endpoint_url": self.env["AWS_ENDPOINT_URL"],
                "aws_access_key_id": self.env.get("AWS_ACCESS_KEY_ID") or "testing",
                "aws_secret_access_key": self.env.get("AWS_SECRET_ACCESS_KEY") or "testing",
                "aws_session_token": self.env.get("AWS_SESSION_TOKEN") or None,
            }
        import boto3  # here, not at the top: most users of this module never call AWS

        return boto3.client(service, **kw)
