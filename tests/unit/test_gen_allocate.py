"""Allocation layer: VPC layout, buddy packing, stability against the lock, pins, ASNs, pods, core."""

from __future__ import annotations

import ipaddress
import math

import pytest
from gen_helpers import plan
from microseg.allocate.blocks import BlockPool
from microseg.allocate.layout import min_vpc_prefix, subnet_size, vpc_prefix_for_hosts
from microseg.allocate.pods import size_fleet
from microseg.errors import ExhaustedError, InputError
from microseg.model import Settings
from microseg.netaddr import fmt, range_to_blocks


def test_layout_arithmetic() -> None:
    assert subnet_size(4096, 3) == 1024  # /20 over 3 AZs -> /22s
    assert min_vpc_prefix(1) == 27 and min_vpc_prefix(3) == 25 and min_vpc_prefix(6) == 24
    # 100 hosts over 3 AZs: 34 + 5 per subnet -> /26 subnets -> /24 VPC
    assert vpc_prefix_for_hosts(100, 3) == 24
    p = vpc_prefix_for_hosts(2000, 3)
    assert 3 * (subnet_size(1 << (32 - p), 3) - 5) >= 2000


def test_range_to_blocks_and_buddy_pool() -> None:
    assert [fmt(*b) for b in range_to_blocks(16, 64)] == ["0.0.0.16/28", "0.0.0.32/27"]
    base = int(ipaddress.IPv4Address("10.64.0.0"))
    pool = BlockPool(base, 16, [(base, base + 256)])
    assert fmt(pool.allocate(24), 24) == "10.64.1.0/24"
    assert fmt(pool.allocate(20), 20) == "10.64.16.0/20"
    assert fmt(pool.allocate(23), 23) == "10.64.2.0/23"
    assert BlockPool(base, 24, []).allocate(23) is None


def test_fresh_inventory_packs_largest_first_into_smallest_envelope() -> None:
    p = plan(["a,10,24,,,,,,,", "b,10,20,,,,,,,", "c,10,22,,,,,,,", "d,10,22,,,,,,,"])
    cidrs = {n: a.cidr for n, a in p.allocations.items()}
    assert cidrs == {"b": "10.64.0.0/20", "c": "10.64.16.0/22", "d": "10.64.20.0/22", "a": "10.64.24.0/24"}
    subnets = p.allocations["b"].subnets
    assert subnets["us-east-1a"] == ("10.64.0.0/22", "10.64.15.240/28")
    assert subnets["us-east-1c"] == ("10.64.8.0/22", "10.64.15.208/28")


def test_stability_tombstones_and_release() -> None:
    p1 = plan(["a,10,20,,,,,,,", "b,10,20,,,,,,,"])
    p2 = plan(["b,10,20,,,,,,,", "c,10,20,,,,,,,", "a2,10,24,,,,,,,"], lock=p1.lock())
    assert p2.allocations["b"].cidr == p1.allocations["b"].cidr
    assert p2.tombstones["a"].cidr == "10.64.0.0/20"
    assert not any(
        ipaddress.ip_network(x.cidr).overlaps(ipaddress.ip_network("10.64.0.0/20"))
        for x in p2.allocations.values()
    )
    # a returning workload gets its tombstone back
    p3 = plan(["a,10,20,,,,,,,", "b,10,20,,,,,,,"], lock=p2.lock())
    assert p3.allocations["a"].cidr == "10.64.0.0/20"
    # release frees the addresses
    p4 = plan(["b,10,20,,,,,,,"], lock=p1.lock(), release=("a",))
    assert "a" not in p4.tombstones and p4.released == ("a",)
    with pytest.raises(InputError) as e:
        plan(["b,10,20,,,,,,,"], lock=p1.lock(), release=("b", "zzz"))
    assert {str(x) for x in e.value.problems} == {
        "--release:0: b: is still in the inventory; remove its row before releasing it",
        "--release:0: zzz: is neither a workload nor a tombstone in the lock",
    }


def test_resize_rules() -> None:
    p1 = plan(["a,10,22,,,,,,,"])
    with pytest.raises(InputError, match="would renumber"):
        plan(["a,10,20,,,,,,,"], lock=p1.lock())
    p2 = plan(["a,10,24,,,,,,,"], lock=p1.lock())  # shrinking keeps the locked block
    assert p2.allocations["a"].cidr == p1.allocations["a"].cidr
    assert any("keeps its locked /22" in str(w) for w in p2.warnings)
    p3 = plan(["a,10,22,,2,,,,,"], lock=p1.lock())  # dropping an AZ keeps the others in place
    assert p3.allocations["a"].subnets == {
        az: p1.allocations["a"].subnets[az] for az in ("us-east-1a", "us-east-1b")
    }


def test_pins_are_honoured_and_checked() -> None:
    p = plan(["old,10,,,,,10.64.0.0/20,,,", "new,10,20,,,,,,,"])
    assert p.allocations["old"].pinned and p.allocations["new"].cidr == "10.64.16.0/20"
    with pytest.raises(InputError) as e:
        plan(["x,10,,,,,10.0.0.0/24,,,", "y,10,,,,,10.70.0.0/20,,,", "z,10,,,,,10.70.8.0/24,,,"])
    msgs = {str(x) for x in e.value.problems}
    assert "inv.csv:2: cidr: 10.0.0.0/24 overlaps the core 10.0.0.0/20" in msgs
    assert "inv.csv:4: cidr: 10.70.8.0/24 overlaps workload y (10.70.0.0/20)" in msgs
    p1 = plan(["a,10,20,,,,,,,"])
    with pytest.raises(InputError, match=r"locked to 10\.64\.0\.0/20"):
        plan(["a,10,,,,,10.65.0.0/20,,,"], lock=p1.lock())


def test_pool_exhausted_is_exit_3() -> None:
    s = Settings(workload_supernet="10.64.0.0/19")
    with pytest.raises(ExhaustedError) as e:
        plan(["a,10,20,,,,,,,", "b,10,20,,,,,,,", "c,10,20,,,,,,,"], settings=s)
    assert e.value.exit_code == 3
    assert [str(x) for x in e.value.problems] == [
        "<defaults>:0: workload_supernet: new workloads need 12,288 addresses, 10.64.0.0/19 has 8,192 free"
    ]
    # Enough addresses in total but no aligned block left: the row that does not fit is named.
    with pytest.raises(ExhaustedError) as e:
        plan(
            ["a,10,21,,,,,,,", "b,10,20,,,,,,,", "c,10,,,2,,10.64.4.0/22,,,", "d,10,,,2,,10.64.20.0/22,,,"],
            settings=s,
        )
    assert [str(x) for x in e.value.problems] == [
        "inv.csv:3: name: no free /20 left for b in workload_supernet 10.64.0.0/19"
    ]


def test_asns_private_distinct_avoid_used_and_stay() -> None:
    s = Settings(asn_used_elsewhere=frozenset({64512, 64514}))
    p = plan(["a,10,20,,,,,,,"], settings=s)
    assert p.asn == {"transit_gateway": 64513, "management": 64515, "pods": 64516}
    p2 = plan(["a,10,20,,,,,,,"], lock=p.lock())
    assert p2.asn == p.asn
    with pytest.raises(ExhaustedError):
        plan(["a,10,20,,,,,,,"], settings=Settings(asn_pools=((64512, 64513),)))


@pytest.mark.parametrize(
    ("mbps", "spares", "survive", "azs", "required", "total"),
    [
        (6400, 1, True, 3, 3, 5),
        (2500, 0, False, 3, 1, 1),
        (2500, 0, True, 3, 1, 2),
        (10000, 1, True, 2, 4, 8),
        (30000, 2, True, 3, 12, 18),
    ],
)
def test_fleet_size(mbps: float, spares: int, survive: bool, azs: int, required: int, total: int) -> None:
    s = Settings(azs=tuple(f"us-east-1{c}" for c in "abc"[:azs]), spare_pods=spares, survive_az_loss=survive)
    assert size_fleet(mbps, s) == (required, total)
    if survive:
        assert total - math.ceil(total / azs) >= required
        assert total - 1 - math.ceil((total - 1) / azs) < required or total - 1 < required + spares


def test_pods_placement_tunnels_and_qos() -> None:
    p = plan(["a,3000,20,,,,,,,", "b,3400,20,,,,,,,"])
    assert (p.fleet.required, p.fleet.total) == (3, 5)
    assert p.fleet.per_az == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 1}
    tunnels = [t for pod in p.pods.values() for t in pod.tunnel_inside_cidrs]
    assert len(set(tunnels)) == 10
    for t in tunnels:
        net = ipaddress.ip_network(t)
        assert net.prefixlen == 30 and net.subnet_of(ipaddress.ip_network("169.254.0.0/16"))
        assert not net.overlaps(ipaddress.ip_network("169.254.0.0/21"))
        assert net != ipaddress.ip_network("169.254.169.252/30")
    assert p.qos == {"a": 1000.0, "b": pytest.approx(1133.333)}
    # growing keeps existing pods where they are
    p2 = plan(["a,3000,20,,,,,,,", "b,3400,20,,,,,,,", "c,5000,20,,,,,,,"], lock=p.lock())
    for i, pod in p.pods.items():
        assert p2.pods[i] == pod
    assert p2.fleet.total > p.fleet.total


def test_core_layout_and_exhaustion() -> None:
    p = plan(["a,10,20,,,,,,,"])
    assert p.core.subnets["us-east-1a"] == {
        "internal": "10.0.0.0/24",
        "public": "10.0.4.0/25",
        "management": "10.0.6.0/26",
        "tgw": "10.0.7.0/28",
    }
    assert p.core.bridge(1) == "10.0.8.0/28" and p.core.internal_block == "10.0.0.0/22"
    nets = [ipaddress.ip_network(c) for v in p.core.subnets.values() for c in v.values()]
    nets += [ipaddress.ip_network(p.core.bridge(i)) for i in p.pods]
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    with pytest.raises(ExhaustedError, match="core_cidr"):
        plan(["a,400000,20,,,,,,,"])
