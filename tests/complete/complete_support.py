"""Shared by the plan and apply tests of examples/complete: generate real tfvars, read a plan JSON.

The tfvars always come from the real generator (`microseg generate`), never from a fixture file, so
the tests prove the contract between the generator and the root, not a copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tfharness import REPO

EXAMPLE = "examples/complete"
INVENTORY = REPO / "examples" / "inventory.csv"
FLOWS = REPO / "examples" / "flows.csv"
HERE = Path(__file__).parent
SETTINGS = HERE / "microseg.toml"
MOTO_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def microseg_cli() -> list[str]:
    """The installed console script of this venv (the same one users run)."""
    script = Path(sys.executable).parent / "microseg"
    found = str(script) if script.exists() else shutil.which("microseg")
    if not found:
        raise RuntimeError("the microseg CLI is not installed in this environment (pip install -e .)")
    return [found]


def generate(
    out: Path, inventory: Path = INVENTORY, flows: Path | None = FLOWS, settings: Path | None = SETTINGS
) -> dict[str, Any]:
    """Run `microseg generate`; return the tfvars it wrote to `out/microseg.auto.tfvars.json`."""
    cmd = [*microseg_cli(), "generate", str(inventory), "--out", str(out)]
    if flows:
        cmd += ["--flows", str(flows)]
    if settings:
        cmd += ["--settings", str(settings)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"microseg generate failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    return json.loads((out / "microseg.auto.tfvars.json").read_text())


def build_lambda(out: Path) -> Path:
    """The pod-health package, built by the project's own reproducible zip script."""
    zip_path = out / "pod-health.zip"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_lambda.py"), "--out", str(zip_path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return zip_path


def moto_ami(client_factory: Any) -> str:
    """An AMI the emulator knows. Moto has no Debian public parameter (and refuses to create
    `/aws/...` names), so the example's `ami_id` is set to moto's Amazon Linux AMI instead."""
    ssm = client_factory("ssm")
    return ssm.get_parameter(Name=MOTO_AMI_PARAMETER)["Parameter"]["Value"]


# --- plan JSON ------------------------------------------------------------------------------------


def after(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Planned values of every managed resource, by address."""
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed" and rc["change"]["actions"] != ["delete"]
    }


def of_type(plan: dict[str, Any], rtype: str, module_prefix: str = "") -> dict[str, dict[str, Any]]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed" and rc["type"] == rtype and rc["address"].startswith(module_prefix)
    }


def prior_data(plan: dict[str, Any], address_suffix: str) -> dict[str, dict[str, Any]]:
    """Data sources read while planning (they sit in prior_state), by address."""
    found: dict[str, dict[str, Any]] = {}

    def walk(mod: dict[str, Any]) -> None:
        for r in mod.get("resources", []):
            if r["mode"] == "data" and r["address"].endswith(address_suffix):
                found[r["address"]] = r["values"]
        for child in mod.get("child_modules", []):
            walk(child)

    walk(plan.get("prior_state", {}).get("values", {}).get("root_module", {}))
    return found


_RES = re.compile(r"^(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[[^\]]+\])?")


class Config:
    """The plan's `configuration` section: follows a reference through variables, module calls and
    outputs until it reaches resources, so a test can say "this route's target is the TGW resource"
    although every ID is still unknown at plan time. Locals are not in the JSON: they stop the trail."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.root = plan["configuration"]["root_module"]

    def module(self, path: tuple[str, ...]) -> dict[str, Any]:
        mod = self.root
        for call in path:
            mod = mod["module_calls"][call]["module"]
        return mod

    def resource(self, path: tuple[str, ...], address: str) -> dict[str, Any]:
        for r in self.module(path).get("resources", []):
            if r["address"] == address:
                return r
        raise KeyError(f"{'.'.join(f'module.{p}' for p in path)} has no resource {address}")

    def attr_targets(self, path: tuple[str, ...], address: str, attr: str) -> set[str]:
        refs = self.resource(path, address)["expressions"].get(attr, {}).get("references", [])
        return self.resolve(path, refs)

    def resolve(self, path: tuple[str, ...], refs: list[str]) -> set[str]:
        out: set[str] = set()
        for ref in refs:
            out |= self._one(path, ref)
        # Keep the most specific form: drop `x` when `x["key"]` is also there.
        return {r for r in out if not any(o != r and o.startswith(r + "[") for o in out)}

    def _one(self, path: tuple[str, ...], ref: str) -> set[str]:
        prefix = "".join(f"module.{p}." for p in path)
        if ref.startswith("var."):
            name = ref.split(".")[1].split("[")[0]
            if not path:
                return {ref}
            call = self.module(path[:-1])["module_calls"][path[-1]]
            return self.resolve(path[:-1], call["expressions"].get(name, {}).get("references", []))
        if ref.startswith("module."):
            parts = ref.split(".")
            if len(parts) < 3:
                return set()
            call, output = parts[1].split("[")[0], parts[2].split("[")[0]
            child = self.module((*path, call))
            refs = child["outputs"][output]["expression"].get("references", [])
            return self.resolve((*path, call), refs)
        if ref.startswith(("local.", "each.", "count.", "path.", "terraform.")):
            return {prefix + ref} if ref.startswith("local.") else set()
        m = _RES.match(ref)
        return (
            {prefix + "".join(g for g in (m.group(1), m.group(2), ".", m.group(3), m.group(4)) if g)}
            if m
            else set()
        )
