"""Sizes are computed, not searched: any magnitude answers (a plan or exit 3) in well under a second."""

from __future__ import annotations

import math
import time

from gen_helpers import plan
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.allocate.pods import size_fleet
from microseg.errors import ExhaustedError
from microseg.model import Settings

PROFILE = settings.get_profile("microseg-generator")
AZS = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")


@PROFILE
@given(
    st.lists(st.floats(1e-3, 1e300), min_size=1, max_size=4),
    st.floats(1e-4, 1e6),
    st.integers(0, 100),
    st.integers(1, 4),
    st.booleans(),
)
def test_any_magnitude_answers_at_once(bws, capacity, spares, azs, survive) -> None:  # type: ignore[no-untyped-def]
    s = Settings(
        azs=AZS[:azs],
        default_workload_azs=1,
        pod_capacity_mbps=capacity,
        spare_pods=spares,
        survive_az_loss=survive and azs > 1,
    )
    rows = [f"w{i},{bw!r},24,,1,,,,," for i, bw in enumerate(bws)]
    t0 = time.monotonic()
    try:
        p = plan(rows, settings=s)
    except ExhaustedError as exc:
        assert exc.exit_code == 3
        assert all("the fleet needs" in x.message for x in exc.problems)
    else:
        f = p.fleet
        assert f.total == len(p.pods) and f.total >= f.required + spares
        if s.survive_az_loss:
            assert f.total - max(f.per_az.values()) >= f.required
    assert time.monotonic() - t0 < 1.0


@given(st.integers(1, 3000), st.integers(0, 20), st.integers(2, 6))
def test_closed_form_is_the_fewest_pods(required: int, spares: int, azs: int) -> None:
    s = Settings(azs=tuple(f"us-east-1{c}" for c in "abcdef"[:azs]), pod_capacity_mbps=1.0, spare_pods=spares)
    req, total = size_fleet(float(required), s)
    assert req == required
    brute = required + spares
    while brute - math.ceil(brute / azs) < required:
        brute += 1
    assert total == brute


def test_asn_need_is_counted_against_the_pools() -> None:
    s = Settings(asn_pools=((64512, 64514),), asn_used_elsewhere=frozenset({64513, 65000}))
    t0 = time.monotonic()
    try:
        plan(["a,10,24,,1,,,,,"], settings=s)
    except ExhaustedError as exc:
        assert [p.message for p in exc.problems] == ["3 ASN(s) needed, 2 free in pools [(64512, 64514)]"]
    else:
        raise AssertionError("three roles cannot share two ASNs")
    assert time.monotonic() - t0 < 1.0


def test_quotas_the_settings_state_are_limits_defaults_only_warn() -> None:
    rows = [f"w{i},2000,24,,1,,,,," for i in range(10)]  # 8 required pods + spares
    p = plan(rows)  # default quotas: warnings at most
    assert p.fleet.total >= 9
    s = Settings(quota_vpn_connections=5, lines={"quotas.vpn_connections_per_region": 7}, file="s.toml")
    try:
        plan(rows, settings=s)
    except ExhaustedError as exc:
        assert [str(x) for x in exc.problems] == [
            f"s.toml:7: quotas.vpn_connections_per_region: VPN connections (one per pod): {p.fleet.total} "
            "needed, the quota is 5"
        ]
    else:
        raise AssertionError("a stated quota is a limit")
