"""Transport allocation under any sequence of fleet sizes, peer counts and transport switches: inside
CIDRs never overlap and never touch AWS's reserved ranges, TGW GRE addresses stay in the block, each
pod's GRE address stays in its AZ's internal subnet clear of every fw address, a pod keeps what it
has, the same input gives the same allocation, and the lock the generator writes reads back clean."""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import replace

from gen_helpers import plan
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.allocate.core import FW_INTERNAL_HOST, max_pods
from microseg.errors import Collector, ExhaustedError
from microseg.model import Settings
from microseg.parse.lockfile import parse_lock
from microseg.render.jsonfmt import dumps
from microseg.render.lockfile import render_lock

PROFILE = settings.get_profile("microseg-generator")
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
# What AWS refuses: VPN /30s 169.254.0.0/30-169.254.5.0/30 and 169.254.169.252/30; Connect /29s
# 169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29.
AWS_RESERVED = {
    30: [
        *(ipaddress.ip_network(f"169.254.{i}.0/30") for i in range(6)),
        ipaddress.ip_network("169.254.169.252/30"),
    ],
    29: [
        *(ipaddress.ip_network(f"169.254.{i}.0/29") for i in range(6)),
        ipaddress.ip_network("169.254.169.248/29"),
    ],
}

step = st.tuples(
    st.sampled_from(["vpn", "vpn-large", "connect"]),
    st.integers(1, 4),  # Connect peers
    st.integers(1, 60_000),  # promised Mbps: the fleet size
)
azs = st.sampled_from(
    [("us-east-1a",), ("us-east-1a", "us-east-1b", "us-east-1c"), tuple(f"us-east-1{c}" for c in "abcdef")]
)


def _settings(kind: str, peers: int, zones: tuple[str, ...], core: str) -> Settings:
    base = Settings(azs=zones, core_cidr=core, survive_az_loss=len(zones) > 1)
    if kind == "connect":
        return replace(
            base,
            transport="connect",
            tunnel_bandwidth=None,
            connect_peers=peers,
            connect_cidr_block="100.127.252.0/22",
            pod_capacity_mbps=peers * 5000.0,
        )
    bandwidth = "large" if kind == "vpn-large" else "standard"
    return replace(
        base, tunnel_bandwidth=bandwidth, pod_capacity_mbps=2 * (5000.0 if bandwidth == "large" else 1250.0)
    )


def _check(p) -> None:  # type: ignore[no-untyped-def]
    s = p.settings
    inside: list[ipaddress.IPv4Network] = []
    tgw, gre = [], []
    fw = {p.core.fw_internal_ip(p.pods[i].az, i) for i in p.pods}
    limit = max_pods(s.core_cidr, len(s.azs), s.transport)
    for pod in p.pods.values():
        if s.transport == "vpn":
            assert len(pod.tunnel_inside_cidrs) == 2 and not pod.connect_peers and pod.connect_address is None
            nets = [ipaddress.ip_network(t) for t in pod.tunnel_inside_cidrs]
        else:
            assert not pod.tunnel_inside_cidrs and len(pod.connect_peers) == s.connect_peers
            nets = [ipaddress.ip_network(c.inside_cidr) for c in pod.connect_peers]
            block = ipaddress.ip_network(s.connect_cidr_block)
            for c in pod.connect_peers:
                a = ipaddress.ip_address(c.transit_gateway_address)
                assert a in block and a not in (block.network_address, block.broadcast_address)
                tgw.append(a)
            internal = ipaddress.ip_network(p.core.subnets[pod.az]["internal"])
            a = ipaddress.ip_address(pod.connect_address)
            host = int(a) - int(internal.network_address)
            # Inside its own AZ's subnet, above every fw address the core can hold, below AWS's last.
            assert a in internal and FW_INTERNAL_HOST + limit < host < internal.num_addresses - 1
            assert str(a) not in fw
            gre.append(a)
        for n in nets:
            assert n.subnet_of(LINK_LOCAL) and not any(n.overlaps(r) for r in AWS_RESERVED[n.prefixlen])
        inside += nets
    inside.sort()
    assert all(not a.overlaps(b) for a, b in itertools.pairwise(inside))
    assert len(set(tgw)) == len(tgw) and len(set(gre)) == len(gre)


def _kept(before, after) -> None:  # type: ignore[no-untyped-def]
    """A pod in both plans, on the same transport, keeps its addresses (Connect: its first peers)."""
    if before.settings.transport != after.settings.transport:
        return
    for i, old in before.pods.items():
        new = after.pods.get(i)
        if new is None:
            continue
        assert new.tunnel_inside_cidrs == old.tunnel_inside_cidrs
        assert new.connect_address == old.connect_address
        n = min(len(old.connect_peers), len(new.connect_peers))
        assert new.connect_peers[:n] == old.connect_peers[:n]


@PROFILE
@given(
    azs,
    st.sampled_from(["10.0.0.0/20", "10.0.0.0/22", "10.0.0.0/18"]),
    st.lists(step, min_size=1, max_size=6),
)
def test_transport_allocation_under_any_sequence(zones, core, steps) -> None:  # type: ignore[no-untyped-def]
    lock = None
    before = None
    for kind, peers, mbps in steps:
        s = _settings(kind, peers, zones, core)
        try:
            p = plan([f"w,{mbps},24,,1,,,,,"], lock=lock, settings=s)
        except ExhaustedError:  # a core too small for the fleet: exit 3, never a wrong allocation
            continue
        _check(p)
        if before is not None:
            _kept(before, p)
        # Determinism: the same input against the same lock, the same allocation.
        assert plan([f"w,{mbps},24,,1,,,,,"], lock=lock, settings=s).pods == p.pods
        # The lock as written reads back whole and clean (the validator accepts every allocation).
        c = Collector()
        back = parse_lock(dumps(render_lock(p.lock())), "lock", c)
        assert not c.errors, c.errors
        assert back.pods == p.pods and back.connect_cidr_block == s.connect_cidr_block
        lock, before = back, p
