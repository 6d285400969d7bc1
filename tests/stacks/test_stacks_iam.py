"""Each stack's pipeline-role policy (stacks/<stack>/iam-policy.json) parses, names no wildcard
action, and names exactly the actions its resource and data-source types need (iam_actions.py),
following the stack's module calls: a new resource type or a stray action fails here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from iam_actions import ACTIONS

REPO = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r'^(resource|data) "([a-z0-9_]+)"', re.M)
_SOURCE = re.compile(r'^\s*source\s*=\s*"(\.[^"]+)"', re.M)
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def types_of(root: Path, seen: set[Path] | None = None) -> set[str]:
    """Resource types ("aws_vpc") and data-source types ("data.aws_region") of a root module and
    every local module it calls."""
    seen = seen if seen is not None else set()
    root = root.resolve()
    if root in seen:
        return set()
    seen.add(root)
    out: set[str] = set()
    for tf in sorted(root.glob("*.tf")):
        text = tf.read_text()
        out |= {("data." if kind == "data" else "") + t for kind, t in _BLOCK.findall(text)}
        for src in _SOURCE.findall(text):
            out |= types_of(root / src, seen)
    return out


def policy(stack: str) -> dict[str, dict]:
    doc = json.loads((REPO / "stacks" / stack / "iam-policy.json").read_text())
    assert doc["Version"] == "2012-10-17"
    out: dict[str, dict] = {}
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow" and st["Sid"] not in out
        out[st["Sid"]] = st
    return out


@pytest.mark.parametrize("stack", ["network", "workloads"])
def test_policy_names_exactly_what_the_stack_needs(stack: str) -> None:
    types = types_of(REPO / "stacks" / stack)
    unknown = sorted(t for t in types if t.removeprefix("data.").startswith("aws_") and t not in ACTIONS)
    assert not unknown, f"no actions listed in tests/stacks/iam_actions.py for {unknown}"
    need = {a for t in types if t in ACTIONS for a in ACTIONS[t]}
    by_sid = policy(stack)
    have = [a for st in by_sid.values() for a in st["Action"]]
    assert all(_ACTION.match(a) for a in have), [a for a in have if not _ACTION.match(a)]
    assert len(have) == len(set(have)), "an action is listed twice"
    assert sorted(set(have) - need) == [], "actions no resource of the stack needs"
    assert sorted(need - set(have)) == [], "actions the stack's resources need"
    # IAM is scoped to roles and instance profiles; PassRole only to the services that take a role.
    assert not [a for a in by_sid["Resources"]["Action"] if a.startswith("iam:")]
    assert all(a.startswith("iam:") for a in by_sid["Iam"]["Action"])
    assert all(":role/" in r or ":instance-profile/" in r for r in by_sid["Iam"]["Resource"])
    assert by_sid["PassRole"]["Action"] == ["iam:PassRole"]
    assert by_sid["PassRole"]["Condition"]["StringEquals"]["iam:PassedToService"]


def _verify_calls() -> dict[str, set[str]]:
    """The EC2 calls `microseg verify` makes, read from its collector: those of `_read_vpcs` (made in
    every workload account it reads) and all of them (made in the network account)."""
    import ast

    tree = ast.parse((REPO / "generator/microseg/verify/collect.py").read_text())
    calls: dict[str, set[str]] = {"workloads": set(), "network": set()}
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            f, name = node.func, None
            if isinstance(f, ast.Name) and f.id == "_all" and isinstance(node.args[1], ast.Constant):
                name = node.args[1].value
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "ec2":
                name = f.attr
            if name:
                action = "ec2:" + "".join(w.capitalize() for w in name.split("_"))
                calls["network"].add(action)
                if fn.name == "_read_vpcs":
                    calls["workloads"].add(action)
    return calls


@pytest.mark.parametrize("stack", ["network", "workloads"])
def test_verify_policy_names_exactly_the_calls_verify_makes(stack: str) -> None:
    doc = json.loads((REPO / "stacks" / stack / "verify-policy.json").read_text())
    ec2 = {
        a
        for st in doc["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert all(st["Effect"] == "Allow" for st in doc["Statement"])
    assert {a for a in ec2 if a.startswith("ec2:")} == _verify_calls()[stack]
    # Read-only: the network account may only assume the verify role, nothing else outside EC2.
    others = {a for a in ec2 if not a.startswith("ec2:")}
    assert others == ({"sts:AssumeRole"} if stack == "network" else set())
    assert all(a.split(":")[1].startswith(("Describe", "Get", "Search")) for a in ec2 - others)
