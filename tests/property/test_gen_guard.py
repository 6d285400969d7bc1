"""The segmentation guard over random CIDRs: a broad endpoint never passes without the opt-in, and
with the opt-in it is always listed for audit."""

from __future__ import annotations

import ipaddress

import pytest
from gen_helpers import inventory
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.errors import InputError
from microseg.model import Settings
from microseg.parse.flows import parse_flows
from microseg.plan import build_plan
from microseg.state import LockState

PROFILE = settings.get_profile("microseg-generator")
ROWS = ["app,100,24,,2,,,,,", "db,100,24,,2,,,,,", "old,50,,,2,,172.16.8.0/24,,,"]
S = Settings()
HELD = [ipaddress.ip_network(c) for c in (S.core_cidr, S.workload_supernet, "172.16.8.0/24")]


def _broad(net: ipaddress.IPv4Network) -> bool:
    return net.prefixlen < S.broadest_flow_prefix or any(net.overlaps(h) for h in HELD)


@st.composite
def cidrs(draw) -> ipaddress.IPv4Network:  # type: ignore[no-untyped-def]
    # Mostly near the held ranges, where the interesting overlaps are.
    base = draw(
        st.one_of(
            st.integers(0, 2**32 - 1),
            st.sampled_from([int(h.network_address) for h in HELD]).flatmap(
                lambda a: st.integers(max(0, a - 2**20), min(2**32 - 1, a + 2**22))
            ),
        )
    )
    prefix = draw(st.integers(0, 32))
    return ipaddress.ip_network(f"{ipaddress.IPv4Address(base)}/{prefix}", strict=False)


@PROFILE
@given(cidrs(), st.booleans(), st.booleans())
def test_random_broad_cidrs_never_pass_without_opt_in(net, as_source: bool, opt_in: bool) -> None:  # type: ignore[no-untyped-def]
    inv, c = inventory(ROWS)
    row = f"{net},app,tcp,443,CHG-1" if as_source else f"app,{net},tcp,443,CHG-1"
    just = ",approved by the risk board for the audit" if opt_in else ","
    fl = parse_flows(f"source,destination,protocol,ports,reference,broad\n{row}{just}\n", "f.csv", inv, c)
    c.raise_if_errors()
    if _broad(net) and not opt_in:
        with pytest.raises(InputError) as exc:
            build_plan(S, inv, fl, LockState(), problems=c)
        assert [(p.line, p.column) for p in exc.value.problems] == [
            (2, "source" if as_source else "destination")
        ]
        return
    p = build_plan(S, inv, fl, LockState(), problems=c)
    assert [b.endpoint for b in p.broad_flows] == ([str(net)] if _broad(net) else [])
