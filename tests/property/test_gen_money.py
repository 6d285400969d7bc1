"""Money adds up: lines are quantity x full-precision unit price, the total is their sum, and the
chargeback per workload and per cost center sums to the total to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.cost import estimate, largest_remainder
from microseg.model import Prices, Settings, Workload

PROFILE = settings.get_profile("microseg-generator")
price = st.decimals("0", "2", places=7).map(float)

workload = st.tuples(
    st.floats(0.001, 5000), st.floats(0, 1e5), st.booleans(), st.sampled_from(["", "cc-1", "cc-2", "cc-3"])
)


def _cents(x: float) -> int:
    return round(Decimal(repr(x)) * 100)


@PROFILE
@given(st.lists(workload, min_size=1, max_size=30), st.integers(2, 40), price, price, price)
def test_every_view_adds_up_to_the_cent(ws, pods, attach, gb, hour) -> None:  # type: ignore[no-untyped-def]
    s = Settings(prices=Prices(tgw_attachment_hour=attach, tgw_data_per_gb=gb, vpn_connection_hour=hour))
    wl = [
        Workload(f"w{i}", i, bw, 1, 24, None, True, egress, None, None, "", "", cc, mgb)
        for i, (bw, mgb, egress, cc) in enumerate(ws)
    ]
    c = estimate(s, wl, pods)
    total = _cents(c["monthly_usd"])
    items = c["line_items"]
    assert sum(_cents(i["monthly_usd"]) for i in items) == total
    for i in items:
        exact = Decimal(repr(i["quantity"])) * Decimal(repr(i["unit_usd"])) * 100
        assert _cents(i["monthly_usd"]) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    per_w = c["chargeback"]["workloads"]
    assert sum(_cents(v["monthly_usd"]) for v in per_w.values()) == total
    assert all(
        _cents(v["direct_usd"]) + _cents(v["shared_usd"]) == _cents(v["monthly_usd"]) for v in per_w.values()
    )
    assert sum(_cents(v) for v in c["chargeback"]["cost_centers"].values()) == total


@given(st.integers(0, 10**9), st.lists(st.floats(0, 1e6), min_size=1, max_size=50))
def test_largest_remainder_is_exact_fair_and_deterministic(total: int, weights: list[float]) -> None:
    names = [f"n{i:02d}" for i in range(len(weights))]
    parts = largest_remainder(total, weights, names)
    assert sum(parts) == total and all(p >= 0 for p in parts)
    whole = sum(weights)
    if whole > 0:
        assert all(abs(p - total * w / whole) < 1 + 1e-6 * total for p, w in zip(parts, weights, strict=True))
    assert parts == largest_remainder(total, weights, names)
