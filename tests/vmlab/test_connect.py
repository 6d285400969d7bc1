"""VM lab: the Connect transport, BGP over GRE with ECMP across three pods.

GRE needs a kernel this machine's containers lack, so the lab VM on the stock Debian 12 kernel (the
pod image; shared with the peer fabric, tests/vmlab/conftest.py) runs the netns lab
(tests/lab/netlab.py, the same code as the vpn transport's lab and benchmarks/bench_lab.py)
on the lab fleet generated with `[pods] transport = "connect"`:

- each pod's vpn runs its rendered `microseg-net`, `microseg-tunnels` (one GRE tunnel per Connect
  peer from its `connect_address` on the core's internal subnet), `microseg-qos`, `frr.conf` and the
  health agent, unchanged (rendered here by the real tofu, tests/appliance/podconfig.py); its fw runs
  its `microseg-net` and nftables ruleset;
- the TGW namespace holds every peer's GRE address and speaks BGP from the *second* host of each
  peer's inside /29, advertising the workload CIDRs; a second namespace one routed hop behind it
  speaks from the *third* host, as AWS's two BGP addresses per peer. That hop is why the pods need
  `ebgp-multihop 2` (TTL 2): without it those sessions never come up.

The proof: every session of every pod is established over its GRE tunnel; each pod spreads the
workload routes over all its sessions (maximum-paths); no pod is in the TGW's default route until
its health agent sees it healthy; then every pod is, one ECMP next hop per Connect peer (≥ 3 pods);
a pod whose health record turns unhealthy loses exactly its next hops.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import time
from collections.abc import Iterator
from typing import Any

import pytest
from appliance import podconfig
from peer import GUEST_REPO, GUEST_RUN
from vm import VM

pytestmark = pytest.mark.vmlab
PEERS = 2  # Connect peers per pod: the generator's default
JOB = "connect-job.json"


def _host(cidr: str, n: int) -> str:
    return str(ipaddress.ip_network(cidr)[n])


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    """The lab fleet's tfvars on the connect transport and the job for the guest's netns lab: every
    pod's rendered files, every health record unhealthy at the start."""
    tfvars = podconfig.load_tfvars(transport="connect")
    transport = podconfig.transport(tfvars)
    assert (transport["type"], transport["connect_peers"]) == ("connect", PEERS), transport
    assert len(tfvars["pods"]) >= 3, "the proof needs at least three pods"
    job = {"tfvars": tfvars, "rendered": podconfig.render(tfvars), "healthy": False}
    return {"tfvars": tfvars, "job": job}


@pytest.fixture(scope="module")
def vm(lab_vm, fleet: dict[str, Any]) -> Iterator[VM]:  # type: ignore[no-untyped-def]
    """The lab VM (tests/vmlab/conftest.py) with the job in its share; the netns lab is taken down
    after the module (the peer fabric runs in the same VM next)."""
    (lab_vm.workdir / "share" / JOB).write_text(json.dumps(fleet["job"]))
    try:
        yield lab_vm.vm
    finally:
        lab_vm.vm.sh(f"python3 {GUEST_REPO}/tests/lab/netlab.py down", timeout=300, check=False)


def _vtysh(ns: str, *cmds: str) -> str:
    args = " ".join(f"-c {shlex.quote(c)}" for c in cmds)
    return f"ip netns exec {ns} vtysh -N {ns} {args}"


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


def _set_health(vm: VM, path: str, healthy: bool) -> None:
    """What the pod-health Lambda's record says (the agent polls it every 0.5 s in the lab)."""
    doc = {"status": "healthy"} if healthy else {"status": "unhealthy", "reason": "vmlab"}
    vm.sh(f"echo {shlex.quote(json.dumps(doc))} > {path}.tmp && mv {path}.tmp {path}")


def test_connect_bgp_over_gre_with_ecmp_across_pods(vm: VM, fleet: dict[str, Any]) -> None:
    tfvars = fleet["tfvars"]
    up = vm.sh(f"python3 {GUEST_REPO}/tests/lab/netlab.py up {GUEST_RUN}/{JOB}", timeout=900)
    where = json.loads(up.stdout.strip().splitlines()[-1])
    pods = sorted(tfvars["pods"])
    ns = {pod: where["pods"][pod]["vpn"] for pod in pods}

    # Every pod: one GRE tunnel per Connect peer, as rendered.
    for pod in pods:
        links = vm.sh(f"ip -n {ns[pod]} -d link show type gre").stdout
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
        states = {pod: _established(vm, ns[pod]) for pod in pods}
        want = {
            pod: {_host(c["inside_cidr"], h) for c in tfvars["pods"][pod]["connect_peers"] for h in (2, 3)}
            for pod in pods
        }
        ok = all(set(states[p]) == want[p] and set(states[p].values()) == {"Established"} for p in pods)
        return ok, states

    took = _wait("every BGP session over GRE established", all_up, timeout=300)
    print(f"connect lab: {len(pods)} pods x {PEERS} peers x 2 sessions up {took:.0f} s after the lab")

    # Each pod spreads the workload routes over all its sessions (replies: ECMP, maximum-paths).
    workload = next(iter(tfvars["workloads"].values()))["cidr"]
    for pod in pods:
        hops = _nexthops(vm, ns[pod], workload)
        assert len(hops) == 2 * PEERS and {d for _, d in hops} == {f"tgw{n}" for n in range(1, PEERS + 1)}, (
            pod,
            hops,
        )

    # Withdrawn until healthy: every record says unhealthy, so the TGW has no default route from any
    # pod (a few of the agents' 2 s checks later).
    time.sleep(10)
    assert not _nexthops(vm, where["tgw"], "0.0.0.0/0")
    for pod in pods:
        _set_health(vm, where["pods"][pod]["health"], True)

    # The TGW's tunnel ends of pod N are p<N>t<peer>.
    owner = {f"p{where['pods'][pod]['index']}": pod for pod in pods}

    def ecmp(expect: set[str]) -> Any:
        def cond() -> tuple[bool, Any]:
            hops = _nexthops(vm, where["tgw"], "0.0.0.0/0")
            owners = {owner.get(re.sub(r"t\d+$", "", d)) for _, d in hops}
            return owners == expect and len(hops) == PEERS * len(expect), hops

        return cond

    _wait("0.0.0.0/0 over every pod's peers (ECMP)", ecmp(set(pods)), timeout=120)
    # A pod found unhealthy takes out exactly its next hops; the others keep carrying.
    _set_health(vm, where["pods"][pods[0]]["health"], False)
    took = _wait("one pod withdrawn", ecmp(set(pods) - {pods[0]}), timeout=60)
    print(
        f"connect lab: withdrawal of {pods[0]} seen at the TGW {took:.1f} s after its record said unhealthy"
    )
    assert len(set(pods) - {pods[0]}) >= 2
