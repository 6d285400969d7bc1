"""IKE/ESP proposals rendered from modules/pod's `tunnel_options` (the lists the AWS side is restricted
to): narrowed options still leave a common proposal that a real charon loads; a vpn rendered for
other options than the AWS side's is detected."""

from __future__ import annotations

from typing import Any

import pytest
from appliance import checkers, podconfig
from appliance.test_appliance_render import PSKS, _need

pytestmark = pytest.mark.static


@pytest.fixture(scope="module")
def tfvars() -> dict[str, Any]:
    return podconfig.load_tfvars()


NARROWED = {
    # What the old hard-coded proposals missed: SHA2-384 with group 21 only.
    "sha384-ecp521": {"phase1_integrity_algorithms": ["SHA2-384"], "phase1_dh_group_numbers": [21]},
    "sha512-ecp384-esp521": {
        "phase1_integrity_algorithms": ["SHA2-512"],
        "phase1_dh_group_numbers": [20],
        "phase2_dh_group_numbers": [21],
        "phase1_lifetime_seconds": 3600,
        "phase2_lifetime_seconds": 900,
    },
    # Beyond the module's validation (the template maps every AWS name): CBC, no PFS, both IKE versions.
    "cbc-both-versions": {
        "ike_versions": ["ikev1", "ikev2"],
        "phase1_encryption_algorithms": ["AES256-GCM-16", "AES128"],
        "phase1_integrity_algorithms": ["SHA2-256"],
        "phase1_dh_group_numbers": [14, 19],
        "phase2_encryption_algorithms": ["AES128", "AES256"],
        "phase2_integrity_algorithms": ["SHA1", "SHA2-256"],
        "phase2_dh_group_numbers": [],
    },
}


@pytest.mark.parametrize("name", sorted(NARROWED))
def test_narrowed_tunnel_options_still_agree_with_the_aws_side(tfvars: dict[str, Any], name: str) -> None:
    """Rendered from the same `tunnel_options` as the AWS side: every combination offered is one AWS
    accepts, there is one in common, and a real charon loads it."""
    _need("/usr/lib/ipsec/charon")
    options = NARROWED[name]
    ud = podconfig.render({**tfvars, "pods": {"pod-01": tfvars["pods"]["pod-01"]}}, tunnel_options=options)
    conf = podconfig.files(ud["pod-01"]["vpn"])["/etc/swanctl/conf.d/microseg.conf"]
    aws = podconfig.tunnel_crypto(options)
    assert checkers.proposal_mismatches(conf, aws) == []
    out = checkers.swanctl_load(conf, PSKS)
    assert "loaded connection 'tgw1'" in out and "loaded connection 'tgw2'" in out
    version = {"ikev2": "IKEv2", "ikev1": "IKEv1"}
    expected = "IKEv1/2" if len(aws["ike_versions"]) > 1 else version[aws["ike_versions"][0]]
    assert f"tgw1: {expected}" in out, out
    lifetime = aws["phase1"]["lifetime"] * 5 // 6
    assert f"rekeying every {lifetime}s" in out, out


def test_a_mismatch_with_the_aws_side_is_detected(tfvars: dict[str, Any]) -> None:
    """The AWS side narrowed (to group 21 and SHA2-384) but the vpn rendered with the defaults: it
    offers combinations AWS refuses; rendered for group 20 only, nothing is in common."""
    pods = {**tfvars, "pods": {"pod-01": tfvars["pods"]["pod-01"]}}
    aws = podconfig.tunnel_crypto(NARROWED["sha384-ecp521"])
    default = podconfig.files(podconfig.render(pods)["pod-01"]["vpn"])["/etc/swanctl/conf.d/microseg.conf"]
    problems = checkers.proposal_mismatches(default, aws)
    assert any("refuses" in p and "ecp384" in p for p in problems), problems
    only20 = podconfig.render(pods, tunnel_options={"phase1_dh_group_numbers": [20]})
    conf = podconfig.files(only20["pod-01"]["vpn"])["/etc/swanctl/conf.d/microseg.conf"]
    assert any("nothing in common" in p for p in checkers.proposal_mismatches(conf, aws))
