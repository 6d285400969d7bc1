"""modules/pod-image: the pod AMI built by EC2 Image Builder from modules/pod-image/{packages.txt,install.sh}.

Plan only: the sandbox (moto) has no Image Builder. The plan shows what AWS will run: the component
document carries the very package list and install script of the repository (decoded from the
plan and compared byte for byte), the build instances sit in the management subnet with no ingress
and IMDSv2, and everything is encrypted with the given key.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import yaml
from tfharness import TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
REPO = HERE.parent.parent
EXAMPLE = "examples/pod-image"
MODULE = "modules/pod-image"
IMAGE = "module.pod_image"


def _after(plan: dict) -> dict[str, dict]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed"
    }


@pytest.mark.plan
def test_plan_matches_inventory(tfroot, aws_env) -> None:
    plan = tfroot(EXAMPLE, aws_env).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "pod_image.yaml")


@pytest.mark.plan
def test_component_runs_the_repository_install_script_on_the_repository_list(tfroot, aws_env) -> None:
    after = _after(tfroot(EXAMPLE, aws_env).plan())
    doc = yaml.safe_load(after[f"{IMAGE}.aws_imagebuilder_component.this"]["data"])
    phases = {p["name"]: [c for s in p["steps"] for c in s["inputs"]["commands"]] for p in doc["phases"]}
    assert set(phases) == {"build", "validate", "test"}
    shipped = {}
    for c in phases["build"]:
        if m := re.fullmatch(r"echo (\S+) \| base64 -d > \S+/(packages\.txt|install\.sh)", c):
            shipped[m.group(2)] = base64.b64decode(m.group(1)).decode()
    assert shipped == {
        "packages.txt": (REPO / MODULE / "packages.txt").read_text(),
        "install.sh": (REPO / MODULE / "install.sh").read_text(),
    }
    d = "/usr/local/share/microseg-pod-image"  # kept in the image for the test phase and audits
    assert phases["build"][-1].endswith(f"sh {d}/install.sh {d}/packages.txt")
    assert phases["validate"] == [f"sh {d}/install.sh --verify {d}/packages.txt"]
    assert "install.sh --verify" in phases["validate"][-1] and "install.sh --verify" in " ".join(
        phases["test"]
    )


@pytest.mark.plan
def test_build_runs_in_the_given_subnet_encrypted_with_the_given_key(tfroot, aws_env) -> None:
    plan = tfroot(MODULE, aws_env).plan(
        {
            "name": "microseg",
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_id": "subnet-0123456789abcdef0",
            "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
            "parent_image": "ami-0123456789abcdef0",
            "apt_snapshot": "20261125T000000Z",
            "schedule_expression": "cron(0 4 ? * SUN *)",
        }
    )
    after = _after(plan)
    infra = after["aws_imagebuilder_infrastructure_configuration.this"]
    assert infra["subnet_id"] == "subnet-0123456789abcdef0"
    recipe = after["aws_imagebuilder_image_recipe.this"]
    assert recipe["parent_image"] == "ami-0123456789abcdef0"
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    assert recipe["block_device_mapping"][0]["ebs"][0]["kms_key_id"] == key
    assert after["aws_imagebuilder_component.this"]["kms_key_id"] == key
    dist = after["aws_imagebuilder_distribution_configuration.this"]["distribution"][0]
    assert dist["ami_distribution_configuration"][0]["kms_key_id"] == key
    build = yaml.safe_load(after["aws_imagebuilder_component.this"]["data"])["phases"][0]
    assert build["steps"][0]["inputs"]["commands"][-1].startswith(
        "MICROSEG_APT_SNAPSHOT=20261125T000000Z sh "
    )
    assert (
        after["aws_imagebuilder_image_pipeline.this"]["schedule"][0]["schedule_expression"]
        == "cron(0 4 ? * SUN *)"
    )
    outputs = plan["planned_values"]["outputs"]
    assert "snapshot.debian.org" in outputs["required_domains"]["value"]
    assert outputs["packages"]["value"][0].startswith("charon-systemd=")


@pytest.mark.plan
def test_module_rejects_a_bad_parent_image(tfroot, aws_env) -> None:
    with pytest.raises(TofuError, match="parent_image must be"):
        tfroot(MODULE, aws_env).plan(
            {
                "name": "microseg",
                "vpc_id": "vpc-0123456789abcdef0",
                "subnet_id": "subnet-0123456789abcdef0",
                "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
                "parent_image": "debian-12",
            }
        )
