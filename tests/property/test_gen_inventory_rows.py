"""The inventory's shortcut for the usual row accepts a row only when the full row check finds
nothing wrong with it, and then gives the very same Workload."""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st
from microseg.errors import Collector
from microseg.model import Settings
from microseg.parse.inventory import _common_row, _row

PROFILE = settings.get_profile("microseg-generator")
# Per column: values the full check accepts on the usual path, then values it refuses or that take
# its other branches. A row is usual in every column but up to two (near misses are the point).
CELLS = {
    "name": (["app", "wl-00001"], ["", "App", "internet", "any", "9x", "a" * 40]),
    "bandwidth_mbps": (["10", "2.5", "1_000"], ["", "0", "-5", "x", "inf", "nan"]),
    "monthly_gb": (["", "0", "-0", "12.5", "1e3"], ["-1", "x", "nan"]),
    "azs": (["", "1", "2", " 2"], ["3", "4", "0", "7", "x"]),
    "internet_egress": (["", "true", "False", "yes", "n"], ["maybe"]),
    "prefix_length": (["24", "/25", "16", "26"], ["", "15", "27", "28", "29", "x"]),
    "hosts": ([""], ["100", "0"]),
    "cidr": ([""], ["10.9.0.0/24"]),
    "account_id": ([""], ["123456789012", "12"]),
    "environment": (["prod", ""], ["a|b"]),
    "owner": (["team-1"], ["x" * 300]),
    "cost_center": (["cc-1", "c c:/=+-@_."], ["c\tc"]),
}
usual = st.fixed_dictionaries({col: st.sampled_from(ok) for col, (ok, _) in CELLS.items()})
odd = st.dictionaries(st.sampled_from(sorted(CELLS)), st.sampled_from(["~"]), max_size=2)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, str]:
    row = draw(usual)
    for col in draw(odd):
        row[col] = draw(st.sampled_from(CELLS[col][1]))
    return row


SETTINGS = [Settings(), Settings(azs=("us-east-1a", "us-east-1b"), default_workload_azs=2)]


@settings(PROFILE, max_examples=400)  # most rows are near misses: enough of each kind
@given(rows(), st.sampled_from(SETTINGS))
def test_the_shortcut_agrees_with_the_full_check(row: dict[str, str], s: Settings) -> None:
    problems = Collector()
    full = _row(row, 7, "inv.csv", s, problems)
    tags_ok: set[str] = set()
    fast = _common_row(row, 7, s, tags_ok)
    assert _common_row(row, 7, s, tags_ok) == fast  # again, with its tag values now known
    if fast is not None:
        assert not problems.errors and not problems.warnings
        assert fast == full
    event("shortcut" if fast is not None else "full check only")


def test_the_usual_row_takes_the_shortcut() -> None:
    row = {
        "name": "wl-00001",
        "environment": "dev",
        "bandwidth_mbps": "5",
        "prefix_length": "25",
        "azs": "2",
        "internet_egress": "false",
        "owner": "team-1",
        "cost_center": "cc-1",
        "monthly_gb": "1873",
    }
    w = _common_row(row, 3, Settings(), set())
    assert w is not None
    assert w == _row(row, 3, "inv.csv", Settings(), Collector())
    assert _common_row({**row, "hosts": "10"}, 3, Settings(), set()) is None  # left to the full check
