"""Properties of DIR/stacks/: the workload files partition the workloads by account, each egress
rule is exactly one (protocol, ports, destination) of the flows leaving that workload, and a change
to one account's workload rows leaves every other account's file byte for byte as it was."""

from __future__ import annotations

import json

from gen_helpers import plan
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.model import Settings
from microseg.render.jsonfmt import dumps
from microseg.render.stacks import render_stacks, stack_file

PROFILE = settings.get_profile("microseg-generator")
NAMES = [f"w{i}" for i in range(8)]
ACCOUNTS = [None, "111111111111", "222222222222", "333333333333"]
POOL = Settings(workload_supernet="10.64.0.0/14")

workload = st.tuples(st.sampled_from(NAMES), st.integers(1, 2000), st.sampled_from(ACCOUNTS))
flow = st.tuples(
    st.sampled_from(NAMES), st.sampled_from(NAMES), st.sampled_from(["tcp", "udp"]), st.integers(1, 3)
)


def _rows(ws: dict[str, tuple[int, str | None]]) -> list[str]:
    return [f"{n},{bw},24,,1,false,,{acct or ''},cc,0" for n, (bw, acct) in sorted(ws.items())]


def _flows(fs: list[tuple[str, str, str, int]], ws: dict[str, object]) -> list[str]:
    return [
        f"{s},{d},{proto},{port},CHG-{port}" for s, d, proto, port in fs if s in ws and d in ws and s != d
    ]


def _render(ws, fs):  # type: ignore[no-untyped-def]
    p = plan(_rows(ws), _flows(fs, ws), settings=POOL)
    return p, {n: dumps(v) for n, v in render_stacks(p).items()}


@PROFILE
@given(
    st.lists(workload, min_size=1, max_size=8, unique_by=lambda w: w[0]),
    st.lists(flow, max_size=16),
)
def test_partition_and_egress(ws_list, fs) -> None:  # type: ignore[no-untyped-def]
    ws = {n: (bw, acct) for n, bw, acct in ws_list}
    p, files = _render(ws, fs)
    seen: list[str] = []
    for name, text in files.items():
        if name == "network.auto.tfvars.json":
            continue
        data = json.loads(text)
        for w in data["workloads"]:
            assert ws[w][1] == data["account_id"] and stack_file(ws[w][1]) == name
            seen.append(w)
            want = {
                (f.protocol, f.from_port, f.to_port, f.destination_cidr)
                for f in p.policy.flows
                if f.source == w
            }
            got = [
                (r["protocol"], r["from_port"], r["to_port"], r["cidr"])
                for r in data["workloads"][w]["egress_rules"]
            ]
            assert len(got) == len(set(got)) and set(got) == want
    assert sorted(seen) == sorted(ws)


@PROFILE
@given(st.lists(workload, min_size=2, max_size=8, unique_by=lambda w: w[0]))
def test_a_tag_change_touches_one_account_file(ws_list) -> None:  # type: ignore[no-untyped-def]
    ws = {n: (bw, acct) for n, bw, acct in ws_list}
    _, before = _render(ws, [])
    changed = ws_list[0][0]
    rows = [r.replace(",cc,", ",cc-new,") if r.startswith(f"{changed},") else r for r in _rows(ws)]
    after = {n: dumps(v) for n, v in render_stacks(plan(rows, [], settings=POOL)).items()}
    differ = sorted(n for n in before if before[n] != after[n])
    assert differ == [stack_file(ws[changed][1])]
