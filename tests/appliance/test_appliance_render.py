"""Every rendered pod file accepted by the real tool that will load it on the instance."""

from __future__ import annotations

import ipaddress
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


@pytest.fixture(scope="module", params=["vpn", "connect"])
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def transport_tfvars(tfvars: dict[str, Any], transport: str) -> dict[str, Any]:
    """The lab's fleet on each transport (connect: two Connect peers per pod)."""
    return podconfig.as_connect(tfvars) if transport == "connect" else tfvars


@pytest.fixture(scope="module")
def transport_rendered(
    transport: str,
    transport_tfvars: dict[str, Any],
    rendered: dict[str, dict[str, dict[str, str]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, dict[str, str]]]:
    if transport == "vpn":
        return rendered
    out = podconfig.render(transport_tfvars, tmp_path_factory.mktemp("render-connect"))
    return {pod: {role: podconfig.files(ud) for role, ud in roles.items()} for pod, roles in out.items()}


def _need(tool: str) -> None:
    if not shutil.which(tool) and not Path(tool).exists():
        pytest.fail(f"{tool} missing: scripts/bootstrap.sh installs it")
    if os.geteuid() != 0:
        pytest.fail("the checkers need root (network namespaces)")


def test_user_data_fits_and_is_cloud_config(
    transport: str, transport_tfvars: dict[str, Any], transport_rendered: dict[str, Any]
) -> None:
    import gzip

    for pod, roles in podconfig.render(transport_tfvars).items():
        for role, ud in roles.items():
            assert ud.startswith("#cloud-config\n"), (pod, role)
            assert len(gzip.compress(ud.encode())) < 16 * 1024, (pod, role)
    files = set(transport_rendered["pod-01"]["vpn"])
    assert files >= {
        "/etc/frr/frr.conf",
        "/usr/local/sbin/microseg-tunnels",
        "/usr/local/sbin/microseg-qos",
        "/usr/local/lib/microseg/health_agent.py",
    }
    # IPsec exists on the vpn transport only.
    assert ("/etc/swanctl/conf.d/microseg.conf" in files) == (transport == "vpn")


def test_nftables_ruleset_passes_nft_check(rendered: dict[str, Any], tfvars: dict[str, Any]) -> None:
    _need("nft")
    for pod, roles in rendered.items():
        ruleset = roles["fw"]["/etc/nftables.conf"]
        checkers.nft_check(ruleset)
        for f in tfvars["flows"]:  # every approved flow carries its ticket, except inbound ones
            if f["source"] != "internet":
                assert f'comment "{f["id"]} {f["reference"]}"' in ruleset, (pod, f["id"])
        assert "policy drop;" in ruleset and f'log prefix "microseg-drop {pod} forward "' in ruleset


def test_nft_check_rejects_a_broken_ruleset(rendered: dict[str, Any]) -> None:
    _need("nft")
    broken = rendered["pod-01"]["fw"]["/etc/nftables.conf"].replace("snat ip to", "snat ip too")
    with pytest.raises(checkers.CheckError):
        checkers.nft_check(broken)


def test_frr_conf_passes_vtysh_dryrun(
    transport: str, transport_rendered: dict[str, Any], transport_tfvars: dict[str, Any]
) -> None:
    _need("vtysh")
    tfvars = transport_tfvars
    for pod, roles in transport_rendered.items():
        conf = roles["vpn"]["/etc/frr/frr.conf"]
        checkers.vtysh_dryrun(conf)
        peers = re.findall(r"neighbor (\S+) remote-as (\d+)", conf)
        # vpn: one session per tunnel; connect: two per Connect peer (both TGW BGP addresses).
        sessions = 2 if transport == "vpn" else 2 * len(tfvars["pods"][pod]["connect_peers"])
        assert len(peers) == sessions, pod
        assert {asn for _, asn in peers} == {str(tfvars["asn"]["transit_gateway"])}, pod
        assert f"router bgp {tfvars['asn']['pods']}" in conf
        assert "timers bgp 10 30" in conf
        if transport == "connect":
            for c in tfvars["pods"][pod]["connect_peers"]:
                net = ipaddress.ip_network(c["inside_cidr"])
                for tgw in (net[2], net[3]):
                    assert f"neighbor {tgw} ebgp-multihop 2\n" in conf, (pod, tgw)
                    assert f"neighbor {tgw} update-source {net[1]}\n" in conf, (pod, tgw)
            script = roles["vpn"]["/usr/local/sbin/microseg-tunnels"]
            assert script.count(" mode gre local ") == len(tfvars["pods"][pod]["connect_peers"]), pod
        # Withdrawn until the health agent has seen the pod healthy.
        assert "\n  network 0.0.0.0/0" not in conf
        # Replies leave on every session: equal preference, one path each.
        assert f"maximum-paths {sessions}" in conf and set(re.findall(r"local-preference (\d+)", conf)) == {
            "100"
        }
        # Every workload range is accepted from the TGW, brownfield CIDRs outside the supernet too.
        accepted = re.findall(r"ip prefix-list MICROSEG-IN seq \d+ permit (\S+) le 32", conf)
        assert accepted == podconfig.workload_cidrs(tfvars), pod


def test_every_workload_range_is_routed_and_allowed_by_the_fw(
    rendered: dict[str, Any], tfvars: dict[str, Any]
) -> None:
    cidrs = podconfig.workload_cidrs(tfvars)
    supernet = tfvars["workload_supernet"]
    assert len(cidrs) > 1 and cidrs[0] == supernet, "the fixture has a workload pinned outside the supernet"
    for pod, roles in rendered.items():
        net = roles["fw"]["/usr/local/sbin/microseg-net"]
        ruleset = roles["fw"]["/etc/nftables.conf"]
        (sources,) = re.findall(r'iifname "bridge" ip saddr \{ ([^}]*) \} jump approved', ruleset)
        for c in cidrs:
            assert re.search(rf"ip route replace {re.escape(c)} via \S+ dev bridge\n", net), (pod, c)
            assert re.search(rf"ip route replace {re.escape(c)} via \S+ dev internal table 100\n", net), (
                pod,
                c,
            )
            assert c in sources.split(", "), (pod, c)


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
    # Both directions are shaped once, on the bridge: egress (what a workload sends) and, through the
    # ifb-bridge device, ingress (what it receives, whichever tunnel the reply then leaves on).
    out = subprocess.run(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"{setup} && sh {script} && "
            "for d in bridge ifb-bridge tgw1 tgw2; do "
            'echo "== $d"; tc class show dev $d; tc filter show dev $d; done; '
            "echo '== ingress'; tc filter show dev bridge parent ffff:",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    devs = dict(re.findall(r"^== (\S+)\n(.*?)(?=^== |\Z)", out.stdout, re.M | re.S))
    for i, (name, w) in enumerate(sorted(tfvars["workloads"].items())):
        classid = f"1:{i + 16:x}"
        rate = int(w["qos_mbps_per_pod"])
        for dev in ("bridge", "ifb-bridge"):
            assert re.search(rf"class htb {classid} root .*rate {rate}Mbit ceil {rate}Mbit", devs[dev]), (
                name,
                dev,
            )
    for dev in ("bridge", "ifb-bridge"):
        assert devs[dev].count("flowid 1:1") == len(tfvars["workloads"]), dev  # one u32 filter per workload
    # The tunnels are not shaped (a per-tunnel class would let a workload use its rate twice).
    assert "class htb" not in devs["tgw1"] + devs["tgw2"]
    assert "mirred" in devs["ingress"] and "ifb-bridge" in devs["ingress"]


def test_qos_script_without_ifb_shapes_each_tunnel_at_half_the_rate(
    rendered: dict[str, Any], tfvars: dict[str, Any], tmp_path: Path
) -> None:
    """A kernel without ifb: what a workload receives is shaped per tunnel at rate / 2, so the sum of
    both tunnels still never exceeds the per-pod rate."""
    _need("tc")
    script = tmp_path / "qos.sh"
    script.write_text(rendered["pod-01"]["vpn"]["/usr/local/sbin/microseg-qos"])
    shim = tmp_path / "bin"
    shim.mkdir()
    real_ip = shutil.which("ip")
    (shim / "ip").write_text(f'#!/bin/sh\ncase "$*" in *"type ifb"*) exit 2;; esac\nexec {real_ip} "$@"\n')
    (shim / "ip").chmod(0o755)
    setup = "for i in bridge tgw1 tgw2; do ip link add $i type veth peer name p$i; ip link set $i up; done"
    out = subprocess.run(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"{setup} && sh {script} && tc class show dev tgw1 && tc class show dev tgw2",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"},
    )
    assert out.returncode == 0, out.stderr
    assert "no ifb device" in out.stderr
    for i, (name, w) in enumerate(sorted(tfvars["workloads"].items())):
        half = int(w["qos_mbps_per_pod"] * 1000) // 2
        got = re.findall(rf"class htb 1:{i + 16:x} root .*rate (\S+) ceil", out.stdout)
        assert len(got) == 2 and {tc_kbit(r) for r in got} == {half}, (name, got)


def tc_kbit(rate: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Kbit|Mbit|Gbit|bit)", rate)
    assert m, rate
    return int(float(m.group(1)) * {"bit": 0.001, "Kbit": 1, "Mbit": 1000, "Gbit": 1_000_000}[m.group(2)])


def test_each_tunnel_interface_carries_its_own_sas(rendered: dict[str, Any]) -> None:
    """Route-based IPsec only works when the XFRM interface of tunnel N (made by microseg-tunnels)
    has the if_id that swanctl marks tunnel N's SAs and policies with; else its packets match no SA
    (this host's kernel has no XFRM: the VM lab runs it; here the two rendered files must agree)."""
    for pod, roles in rendered.items():
        script = roles["vpn"]["/usr/local/sbin/microseg-tunnels"]
        links = {
            int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"ip link add tgw(\d+) type xfrm dev \S+ if_id (\d+)", script)
        }
        conf = _swanctl_tree(roles["vpn"]["/etc/swanctl/conf.d/microseg.conf"])
        marks = {}
        for name, conn in conf["connections"].items():
            assert conn["if_id_in"] == conn["if_id_out"], (pod, name, conn)
            marks[int(name.removeprefix("tgw"))] = int(conn["if_id_in"])
        assert links and links == marks, f"{pod}: XFRM interfaces {links}, swanctl if_ids {marks}"
        assert len(set(links.values())) == len(links), f"{pod}: two tunnels share an if_id: {links}"


def _swanctl_tree(text: str) -> dict[str, Any]:
    """swanctl.conf's sections and settings as nested dicts (comments dropped)."""
    root: dict[str, Any] = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.endswith("{"):
            child: dict[str, Any] = {}
            stack[-1][line[:-1].strip()] = child
            stack.append(child)
        elif line == "}":
            stack.pop()
        elif "=" in line:
            key, value = (x.strip() for x in line.split("=", 1))
            stack[-1][key] = value
    return root


# AWS caps user_data at 16 KiB (raw; here gzipped, as modules/pod sends it): the pod module refuses
# to plan above it. Every fw carries every approved flow, so the flow count is the fleet's ceiling
# (docs/architecture.md, "How big a policy fits in a pod"); the vpn grows with the workloads only.
USER_DATA_LIMIT = 16384
SCALE_WORKLOADS, SCALE_FLOWS = 100, 200


def test_user_data_of_a_100_workload_200_flow_policy_fits_16_kib(tmp_path: Path) -> None:
    import gzip
    import json
    import random
    import sys

    rnd = random.Random(7)
    names = [f"app-{i:03d}" for i in range(SCALE_WORKLOADS)]
    inv = ["name,environment,bandwidth_mbps,prefix_length,azs,internet_egress"]
    inv += [f"{n},prod,50,24,2,{'true' if i % 3 == 0 else 'false'}" for i, n in enumerate(names)]
    flows = ["source,destination,protocol,ports,reference"]
    for i in range(SCALE_FLOWS):
        a, b = rnd.sample(names, 2)
        flows.append(f"{a},{b},tcp,{rnd.choice(['443', '5432', '8443', '9000-9100'])},CHG-{1000 + i}")
    (tmp_path / "inventory.csv").write_text("\n".join(inv) + "\n")
    (tmp_path / "flows.csv").write_text("\n".join(flows) + "\n")
    gen = podconfig.REPO / "generator"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "microseg.cli",
            "generate",
            str(tmp_path / "inventory.csv"),
            "--flows",
            str(tmp_path / "flows.csv"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(gen), os.environ.get("PYTHONPATH")])),
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    tfvars = json.loads((tmp_path / "out" / "microseg.auto.tfvars.json").read_text())
    out = podconfig.render(tfvars, tmp_path / "render")
    # Go's default gzip level (what base64gzip uses, or better): Python's level 6 is the same deflate.
    sizes = {role: len(gzip.compress(ud.encode(), 6)) for role, ud in next(iter(out.values())).items()}
    assert all(s <= USER_DATA_LIMIT for s in sizes.values()), sizes
