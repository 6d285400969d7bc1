"""VM lab: the Connect transport, BGP over GRE with ECMP across three pods.

GRE needs a kernel this machine's containers lack, so one VM on the stock Debian 12 kernel (the pod
image) holds the whole fabric in network namespaces:

- `pod-0N`: the vpn of each pod. Its GRE tunnels come from the rendered `microseg-tunnels` script and
  its BGP from the rendered `frr.conf` (modules/pod's templates, rendered by the real tofu for the
  connect transport, tests/appliance/podconfig.py), run unchanged. Its address on the AZ's internal
  subnet is the pod's `connect_address`; the default route points at the subnet's router.
- `tgw`: stands in for the Transit Gateway. Its GRE addresses (one per Connect peer) sit on `lo`,
  the AZs' internal subnets are bridges with the router address, and its FRR (ASN of the TGW)
  speaks from the *second* host of every peer's inside /29, advertising the workload CIDRs.
- `tgw-b`: the TGW's other BGP speaker of every peer (the /29's *third* host). AWS runs two per peer
  behind one GRE endpoint; here the `tgw` namespace forwards GRE-delivered packets for the third
  hosts to `tgw-b` one hop further. That hop is why the pods need `ebgp-multihop 2` (TTL 2): without
  it those sessions never come up.

The proof: every session of every pod is established over its GRE tunnel; a healthy pod (the health
agent's `network 0.0.0.0/0`, added here by vtysh as the agent does) is one ECMP next hop per Connect
peer of the TGW's default route, ≥ 3 pods together; each pod spreads the workload routes over all
its sessions (maximum-paths); withdrawing one pod removes exactly its next hops.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import shlex
import time
from collections.abc import Iterator
from typing import Any

import pytest
from appliance import podconfig
from vm import VM, Image, accel, seed_iso

pytestmark = pytest.mark.vmlab
PEERS = 2  # Connect peers per pod: the generator's default
NO_RP_FILTER = "net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0"


def _host(cidr: str, n: int) -> str:
    return str(ipaddress.ip_network(cidr)[n])


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    """The lab fleet's tfvars on the connect transport, and each pod's rendered vpn files."""
    tfvars = podconfig.as_connect(podconfig.load_tfvars(), peers=PEERS)
    assert len(tfvars["pods"]) >= 3, "the proof needs at least three pods"
    rendered = podconfig.render(tfvars)
    files = {pod: podconfig.files(roles["vpn"]) for pod, roles in rendered.items()}
    return {"tfvars": tfvars, "files": files}


def _write(path: str, content: str, mode: str = "0644") -> str:
    b64 = base64.b64encode(content.encode()).decode()
    return f"mkdir -p $(dirname {path}) && echo {b64} | base64 -d > {path} && chmod {mode} {path}\n"


def _frr_start(ns: str, conf_path: str) -> str:
    """zebra + bgpd in `ns` with their own path space, then the configuration through vtysh (as the
    netns lab does on the host)."""
    run = f"/var/run/frr/{ns}"
    return (
        f"mkdir -p {run} /etc/frr/{ns} && chown frr:frr {run} /etc/frr/{ns}\n"
        # vtysh -N reads its own (here empty) vtysh.conf from the instance's directory.
        f"touch /etc/frr/{ns}/vtysh.conf\n"
        f"ip netns exec {ns} /usr/lib/frr/zebra -d -N {ns} -i {run}/zebra.pid\n"
        f"ip netns exec {ns} /usr/lib/frr/bgpd -d -N {ns} -i {run}/bgpd.pid\n"
        f"for i in $(seq 100); do [ -S {run}/bgpd.vty ] && break; sleep 0.2; done\n"
        f'out=$(ip netns exec {ns} vtysh -N {ns} -f {conf_path} 2>&1); echo "$out"\n'
        f'case "$out" in *"% "*) echo "{ns}: vtysh -f failed" >&2; exit 1;; esac\n'
    )


def _tgw_conf(tfvars: dict[str, Any], speaker: str) -> str:
    """The TGW side: `speaker` "a" peers from each /29's second host, "b" from its third."""
    asn = tfvars["asn"]
    lines = [
        "frr defaults traditional",
        f"hostname tgw-{speaker}",
        f"router bgp {asn['transit_gateway']}",
        f" bgp router-id 169.254.255.{1 if speaker == 'a' else 2}",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " timers bgp 10 30",
    ]
    for p in tfvars["pods"].values():
        for peer in p["connect_peers"]:
            ours = _host(peer["inside_cidr"], 1)
            lines += [
                f" neighbor {ours} remote-as {asn['pods']}",
                f" neighbor {ours} timers 10 30",
                f" neighbor {ours} timers connect 2",
                f" neighbor {ours} update-source {_host(peer['inside_cidr'], 2 if speaker == 'a' else 3)}",
            ]
            if speaker == "b":
                lines.append(f" neighbor {ours} ebgp-multihop 2")
    lines += [" address-family ipv4 unicast", "  maximum-paths 64"]
    lines += [f"  network {w['cidr']}" for w in tfvars["workloads"].values()]
    lines += [" exit-address-family", "exit", ""]
    return "\n".join(lines)


def fabric_script(tfvars: dict[str, Any], files: dict[str, dict[str, str]]) -> str:
    """Shell script (run as root in the VM) that builds the namespaces and starts every FRR."""
    s = ["set -eu", "modprobe ip_gre", "mkdir -p /lab"]
    s += ["for ns in tgw tgw-b; do ip netns add $ns; ip -n $ns link set lo up; done"]
    s += ["ip netns exec tgw sysctl -q -w net.ipv4.ip_forward=1"]
    s += [f"ip netns exec {ns} sysctl -q -w {NO_RP_FILTER}" for ns in ("tgw", "tgw-b")]
    # tgw <-> tgw-b: the hop between the TGW's GRE endpoint and its second BGP speaker.
    s += [
        "ip link add tob netns tgw type veth peer name toa netns tgw-b",
        "ip -n tgw addr add 10.255.255.1/30 dev tob && ip -n tgw link set tob up",
        "ip -n tgw-b addr add 10.255.255.2/30 dev toa && ip -n tgw-b link set toa up",
    ]
    internal = {az: sub["internal"] for az, sub in tfvars["core"]["subnets"].items()}
    for i, (_az, cidr) in enumerate(sorted(internal.items())):
        net = ipaddress.ip_network(cidr)
        s += [
            f"ip -n tgw link add az{i} type bridge && ip -n tgw link set az{i} up",
            f"ip -n tgw addr add {net[1]}/{net.prefixlen} dev az{i}",
        ]
    az_index = {az: i for i, az in enumerate(sorted(internal))}
    for pod, p in sorted(tfvars["pods"].items()):
        ns, cidr = pod, internal[p["az"]]
        net = ipaddress.ip_network(cidr)
        s += [
            f"ip netns add {ns} && ip -n {ns} link set lo up",
            f"ip netns exec {ns} sysctl -q -w {NO_RP_FILTER}",
            f"ip link add eth0 netns {ns} type veth peer name {ns} netns tgw",
            f"ip -n tgw link set {ns} master az{az_index[p['az']]} up",
            f"ip -n {ns} addr add {p['connect_address']}/{net.prefixlen} dev eth0",
            f"ip -n {ns} link set eth0 up",
            f"ip -n {ns} route add default via {net[1]}",
            f"ip netns exec {ns} sysctl -q -w net.ipv4.ip_forward=1",
        ]
        for n, peer in enumerate(p["connect_peers"], start=1):
            tgw_addr, inside = peer["transit_gateway_address"], peer["inside_cidr"]
            dev = f"{ns[-2:]}g{n}"
            s += [
                f"ip -n tgw addr add {tgw_addr}/32 dev lo",
                f"ip -n tgw tunnel add {dev} mode gre local {tgw_addr} remote {p['connect_address']} ttl 255",
                f"ip -n tgw addr add {_host(inside, 2)}/29 dev {dev} && ip -n tgw link set {dev} up",
                f"ip netns exec tgw sysctl -q -w net.ipv4.conf.{dev}.rp_filter=0",
                # The third host lives one hop further, in tgw-b.
                f"ip -n tgw route add {_host(inside, 3)}/32 via 10.255.255.2",
                f"ip -n tgw-b addr add {_host(inside, 3)}/32 dev lo",
                f"ip -n tgw-b route add {inside} via 10.255.255.1",
            ]
        # The pod's own GRE tunnels and BGP: the rendered files, unchanged.
        tunnels = f"/lab/{ns}-microseg-tunnels"
        s.append(_write(tunnels, files[pod]["/usr/local/sbin/microseg-tunnels"], "0755"))
        s.append(f"ip netns exec {ns} sh {tunnels}")
        conf = f"/lab/{ns}-frr.conf"
        s.append(_write(conf, files[pod]["/etc/frr/frr.conf"]))
    for speaker, ns in (("a", "tgw"), ("b", "tgw-b")):
        s.append(_write(f"/lab/{ns}-frr.conf", _tgw_conf(tfvars, speaker)))
        s.append(_frr_start(ns, f"/lab/{ns}-frr.conf"))
    for pod in sorted(tfvars["pods"]):
        s.append(_frr_start(pod, f"/lab/{pod}-frr.conf"))
    return "\n".join(s) + "\n"


def _vtysh(ns: str, *cmds: str) -> str:
    args = " ".join(f"-c {shlex.quote(c)}" for c in cmds)
    return f"ip netns exec {ns} vtysh -N {ns} {args}"


def advertise(pod: str, asn: int, on: bool) -> str:
    """What the health agent does when the pod is proven healthy (on) or faulty (off)."""
    stmt = "network 0.0.0.0/0" if on else "no network 0.0.0.0/0"
    return _vtysh(pod, "configure terminal", f"router bgp {asn}", "address-family ipv4 unicast", stmt)


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VM]:
    image = Image.current()
    work = tmp_path_factory.mktemp("vmlab-connect")
    seed = seed_iso(work / "seed.iso", "i-lab-connect", b"#cloud-config\n{}\n")
    machine = VM("connect", image, work, accel=accel(image, work), memory_mb=1536, seed=seed)
    try:
        machine.start()
        machine.wait_agent(timeout=900)
        yield machine
    finally:
        machine.stop()


def _established(vm: VM, ns: str) -> dict[str, str]:
    out = vm.sh(_vtysh(ns, "show bgp summary json"), timeout=60).stdout
    peers = json.loads(out).get("ipv4Unicast", {}).get("peers", {})
    return {addr: p.get("state", "") for addr, p in peers.items()}


def _nexthops(vm: VM, ns: str, prefix: str) -> list[tuple[str, str]]:
    out = vm.sh(f"ip -n {ns} route show {prefix}", timeout=30).stdout
    return re.findall(r"via (\S+) dev (\S+)", out)


def _wait(what: str, cond: Any, timeout: float) -> float:
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        ok, last = cond()
        if ok:
            return time.monotonic() - start
        time.sleep(2)
    raise AssertionError(f"{what}: not within {timeout}s; last seen: {last}")


def test_connect_bgp_over_gre_with_ecmp_across_pods(vm: VM, fleet: dict[str, Any]) -> None:
    tfvars, files = fleet["tfvars"], fleet["files"]
    pods = sorted(tfvars["pods"])
    asn = tfvars["asn"]["pods"]
    vm.sh(fabric_script(tfvars, files), timeout=600)

    # Every pod: one GRE tunnel per Connect peer, as rendered.
    for pod in pods:
        links = vm.sh(f"ip -n {pod} -d link show type gre").stdout
        blocks = dict(re.findall(r"^\d+: (\S+?)@\S+ (.*?)(?=^\d+: |\Z)", links, re.M | re.S))
        want = {
            f"tgw{n}": c["transit_gateway_address"]
            for n, c in enumerate(tfvars["pods"][pod]["connect_peers"], start=1)
        }
        assert set(blocks) - {"gre0"} == set(want), (pod, links)
        local = tfvars["pods"][pod]["connect_address"]
        for name, remote in want.items():
            assert f"gre remote {remote} local {local} " in blocks[name], (pod, name, blocks[name])

    # Every session of every pod is established: both TGW addresses of each peer (the third host's
    # only through ebgp-multihop 2).
    def all_up() -> tuple[bool, Any]:
        states = {pod: _established(vm, pod) for pod in pods}
        want = {
            pod: {_host(c["inside_cidr"], h) for c in tfvars["pods"][pod]["connect_peers"] for h in (2, 3)}
            for pod in pods
        }
        ok = all(set(states[p]) == want[p] and set(states[p].values()) == {"Established"} for p in pods)
        return ok, states

    took = _wait("every BGP session over GRE established", all_up, timeout=300)
    print(f"connect lab: {len(pods)} pods x {PEERS} peers x 2 sessions established in {took:.0f} s")

    # Each pod spreads the workload routes over all its sessions (replies: ECMP, maximum-paths).
    workload = next(iter(tfvars["workloads"].values()))["cidr"]
    for pod in pods:
        hops = _nexthops(vm, pod, workload)
        assert len(hops) == 2 * PEERS and {d for _, d in hops} == {f"tgw{n}" for n in range(1, PEERS + 1)}, (
            pod,
            hops,
        )

    # Withdrawn until healthy: the TGW has no default route from any pod yet.
    assert not _nexthops(vm, "tgw", "0.0.0.0/0")
    for pod in pods:
        vm.sh(advertise(pod, asn, True))

    def ecmp(expect: set[str]) -> Any:
        def cond() -> tuple[bool, Any]:
            hops = _nexthops(vm, "tgw", "0.0.0.0/0")
            owners = {d[:2] for _, d in hops}
            return owners == expect and len(hops) == PEERS * len(expect), hops

        return cond

    every = {p[-2:] for p in pods}
    _wait("0.0.0.0/0 over every pod's peers (ECMP)", ecmp(every), timeout=120)
    # Withdrawing one pod takes out exactly its next hops; the others keep carrying.
    vm.sh(advertise(pods[0], asn, False))
    took = _wait("one pod withdrawn", ecmp(every - {pods[0][-2:]}), timeout=60)
    print(f"connect lab: withdrawal of {pods[0]} seen at the TGW after {took:.1f} s")
    assert len(every - {pods[0][-2:]}) >= 2
