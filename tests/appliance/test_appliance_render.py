"""Every rendered pod file accepted by the real tool that will load it on the instance."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from appliance import checkers, podconfig

pytestmark = pytest.mark.static

PSKS = "".join(
    f'ike-tgw{n} {{\n  id-1 = 192.0.2.{n}\n  secret = "lab-psk-{n}-0123456789abcdef"\n}}\n' for n in (1, 2)
)


@pytest.fixture(scope="module")
def tfvars() -> dict[str, Any]:
    return podconfig.load_tfvars()


@pytest.fixture(scope="module")
def rendered(
    tfvars: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, dict[str, str]]]:
    if not shutil.which(podconfig.TOFU):
        pytest.fail("tofu not on PATH: run scripts/toolchain.sh")
    out = podconfig.render(tfvars, tmp_path_factory.mktemp("render"))
    return {pod: {role: podconfig.files(ud) for role, ud in roles.items()} for pod, roles in out.items()}


def _need(tool: str) -> None:
    if not shutil.which(tool) and not Path(tool).exists():
        pytest.fail(f"{tool} missing: scripts/bootstrap.sh installs it")
    if os.geteuid() != 0:
        pytest.fail("the checkers need root (network namespaces)")


def test_user_data_fits_and_is_cloud_config(tfvars: dict[str, Any], rendered: dict[str, Any]) -> None:
    import gzip

    for pod, roles in podconfig.render(tfvars).items():
        for role, ud in roles.items():
            assert ud.startswith("#cloud-config\n"), (pod, role)
            assert len(gzip.compress(ud.encode())) < 16 * 1024, (pod, role)
    assert set(rendered["pod-01"]["vpn"]) >= {
        "/etc/frr/frr.conf",
        "/etc/swanctl/conf.d/microseg.conf",
        "/usr/local/sbin/microseg-qos",
        "/usr/local/lib/microseg/health_agent.py",
    }


def test_nftables_ruleset_passes_nft_check(rendered: dict[str, Any], tfvars: dict[str, Any]) -> None:
    _need("nft")
    for pod, roles in rendered.items():
        ruleset = roles["fw"]["/etc/nftables.conf"]
        checkers.nft_check(ruleset)
        for f in tfvars["flows"]:  # every approved flow carries its ticket, except inbound ones
            if f["source"] != "internet":
                assert f'comment "{f["id"]} {f["reference"]}"' in ruleset, (pod, f["id"])
        assert "policy drop;" in ruleset and f'log prefix "microseg-drop {pod} "' in ruleset


def test_nft_check_rejects_a_broken_ruleset(rendered: dict[str, Any]) -> None:
    _need("nft")
    broken = rendered["pod-01"]["fw"]["/etc/nftables.conf"].replace("snat ip to", "snat ip too")
    with pytest.raises(checkers.CheckError):
        checkers.nft_check(broken)


def test_frr_conf_passes_vtysh_dryrun(rendered: dict[str, Any], tfvars: dict[str, Any]) -> None:
    _need("vtysh")
    for pod, roles in rendered.items():
        conf = roles["vpn"]["/etc/frr/frr.conf"]
        checkers.vtysh_dryrun(conf)
        peers = re.findall(r"neighbor (\S+) remote-as (\d+)", conf)
        assert len(peers) == 2 and {asn for _, asn in peers} == {str(tfvars["asn"]["transit_gateway"])}, pod
        assert f"router bgp {tfvars['asn']['pods']}" in conf
        # Withdrawn until the health agent has seen the pod healthy.
        assert "\n  network 0.0.0.0/0" not in conf


def test_vtysh_dryrun_rejects_a_broken_conf(rendered: dict[str, Any]) -> None:
    _need("vtysh")
    broken = rendered["pod-01"]["vpn"]["/etc/frr/frr.conf"].replace(
        "timers bgp 10 30", "timers bgp ten thirty"
    )
    with pytest.raises(checkers.CheckError):
        checkers.vtysh_dryrun(broken)


def test_swanctl_conf_loads_into_charon(rendered: dict[str, Any]) -> None:
    _need("/usr/lib/ipsec/charon")
    for roles in rendered.values():
        out = checkers.swanctl_load(roles["vpn"]["/etc/swanctl/conf.d/microseg.conf"], PSKS)
        assert "loaded connection 'tgw1'" in out and "loaded connection 'tgw2'" in out
        assert "loaded ike secret 'ike-tgw2'" in out


def test_charon_rejects_a_broken_swanctl_conf(rendered: dict[str, Any]) -> None:
    _need("/usr/lib/ipsec/charon")
    broken = rendered["pod-01"]["vpn"]["/etc/swanctl/conf.d/microseg.conf"].replace(
        "proposals = aes256gcm16-", "proposals = aes999nonsense-"
    )
    with pytest.raises(checkers.CheckError):
        checkers.swanctl_load(broken, PSKS)


def test_qos_script_builds_the_htb_tree_in_a_namespace(
    rendered: dict[str, Any], tfvars: dict[str, Any], tmp_path: Path
) -> None:
    _need("tc")
    script = tmp_path / "qos.sh"
    script.write_text(rendered["pod-01"]["vpn"]["/usr/local/sbin/microseg-qos"])
    setup = (
        "ip link add bridge type veth peer name peer0 && ip link add tgw1 type veth peer name peer1 && "
        "ip link add tgw2 type veth peer name peer2 && for i in bridge tgw1 tgw2; do ip link set $i up; done"
    )
    out = subprocess.run(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"{setup} && sh {script} && "
            'for d in bridge tgw1 tgw2; do echo "== $d"; tc class show dev $d; tc filter show dev $d; done',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for i, (name, w) in enumerate(sorted(tfvars["workloads"].items())):
        classid = f"1:{i + 16:x}"
        rate = int(w["qos_mbps_per_pod"])
        assert (
            len(re.findall(rf"class htb {classid} root .*rate {rate}Mbit ceil {rate}Mbit", out.stdout)) == 3
        ), name
    assert out.stdout.count("flowid 1:1") >= 6  # one u32 filter per workload and device
