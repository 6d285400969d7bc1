"""Properties of the generator: no overlaps, stability under change, determinism, clean failures."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path

from gen_helpers import plan
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.cli import app
from microseg.errors import InputError
from microseg.model import Settings
from typer.testing import CliRunner

PROFILE = settings.get_profile("microseg-generator")
NAMES = [f"w{i}" for i in range(12)]
SMALL_POOL = Settings(workload_supernet="10.64.0.0/14")

workload = st.tuples(st.sampled_from(NAMES), st.integers(18, 24), st.integers(1, 3), st.integers(1, 4000))


def _rows(ws: dict[str, tuple[int, int, int]]) -> list[str]:
    return [f"{n},{bw},{p},,{azs},,,,," for n, (p, azs, bw) in sorted(ws.items())]


def _all_nets(p) -> list[ipaddress.IPv4Network]:  # type: ignore[no-untyped-def]
    return [ipaddress.ip_network(a.cidr) for a in [*p.allocations.values(), *p.tombstones.values()]]


def _no_overlap(nets: list[ipaddress.IPv4Network]) -> bool:
    nets = sorted(nets)
    return all(not a.overlaps(b) for a, b in itertools.pairwise(nets))


@PROFILE
@given(st.lists(workload, min_size=1, max_size=12, unique_by=lambda w: w[0]))
def test_no_overlaps_and_subnets_inside(ws: list[tuple[str, int, int, int]]) -> None:
    p = plan(_rows({n: (pfx, azs, bw) for n, pfx, azs, bw in ws}), settings=SMALL_POOL)
    nets = _all_nets(p)
    core = ipaddress.ip_network(p.settings.core_cidr)
    assert _no_overlap(nets) and not any(n.overlaps(core) for n in nets)
    for a in p.allocations.values():
        vpc = ipaddress.ip_network(a.cidr)
        subs = [ipaddress.ip_network(c) for pair in a.subnets.values() for c in pair]
        assert all(s.subnet_of(vpc) for s in subs) and _no_overlap(subs)


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "resize", "release"]), workload), min_size=1, max_size=10
)


@PROFILE
@given(st.lists(workload, min_size=1, max_size=6, unique_by=lambda w: w[0]), ops)
def test_stability_under_add_remove_resize(initial, steps) -> None:  # type: ignore[no-untyped-def]
    ws = {n: (pfx, azs, bw) for n, pfx, azs, bw in initial}
    p = plan(_rows(ws), settings=SMALL_POOL)
    for op, (n, pfx, azs, bw) in steps:
        nxt = dict(ws)
        release: tuple[str, ...] = ()
        if op == "add" and n not in ws:
            nxt[n] = (pfx, azs, bw)
        elif op == "remove" and n in ws and len(ws) > 1:
            del nxt[n]
        elif op == "resize" and n in ws:
            nxt[n] = (pfx, azs, bw)
        elif op == "release" and n in p.tombstones:
            release = (n,)
        try:
            q = plan(_rows(nxt), lock=p.lock(), settings=SMALL_POOL, release=release)
        except InputError:
            # A grow that would renumber, or a full pool, is refused as a whole: state unchanged.
            continue
        for name, a in p.allocations.items():  # nothing that stays ever moves
            if name in q.allocations:
                assert q.allocations[name].cidr == a.cidr
                for az, pair in q.allocations[name].subnets.items():
                    if az in a.subnets:
                        assert pair == a.subnets[az]
            elif name not in release:
                assert q.tombstones[name].cidr == a.cidr
        for name, a in p.tombstones.items():
            if name not in release:
                assert (q.allocations.get(name) or q.tombstones[name]).cidr == a.cidr
        assert q.asn == p.asn
        assert _no_overlap(_all_nets(q))
        for i, pod in p.pods.items():
            if i in q.pods and q.pods[i].az == pod.az:
                assert q.pods[i].tunnel_inside_cidrs == pod.tunnel_inside_cidrs
        p, ws = q, nxt


runner = CliRunner()


@settings(PROFILE, max_examples=15)
@given(st.lists(workload, min_size=1, max_size=8, unique_by=lambda w: w[0]))
def test_determinism_byte_identical(tmp_path_factory, ws) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("det")
    inv = base / "inv.csv"
    inv.write_text(
        "name,bandwidth_mbps,prefix_length,hosts,azs,internet_egress,cidr,account_id,cost_center,monthly_gb\n"
        + "\n".join(_rows({n: (pfx, azs, bw) for n, pfx, azs, bw in ws}))
        + "\n"
    )
    outs = []
    for name in ("a", "b"):
        r = runner.invoke(app, ["generate", str(inv), "--out", str(base / name), "--json"])
        assert r.exit_code == 0, r.output
        outs.append({f.name: f.read_bytes() for f in sorted((base / name).iterdir()) if f.is_file()})
    assert outs[0] == outs[1]
    # and regenerating in place against its own lock changes nothing
    r = runner.invoke(app, ["generate", str(inv), "--out", str(base / "a")])
    assert r.exit_code == 0
    assert {f.name: f.read_bytes() for f in sorted((base / "a").iterdir()) if f.is_file()} == outs[0]


GOOD = "name,bandwidth_mbps,prefix_length\napp,100,20\ndb,100,22\n"
mutations = st.sampled_from(
    [
        lambda t: t.replace("100", "-1", 1),
        lambda t: t.replace("app", "App"),
        lambda t: t.replace("20", "40"),
        lambda t: t + "db,1,20\n",
        lambda t: t + "x,1,20,extra\n",
        lambda t: t.replace("name", "nom"),
        lambda t: "",
        lambda t: t.encode("latin-1").decode("latin-1") + "caf\xe9,1,20\n",
        lambda t: t.replace("22", "22.5"),
        lambda t: t + '"unterminated,1,20\n',
    ]
)


@settings(PROFILE, max_examples=25)
@given(mutations, st.binary(max_size=40), st.booleans())
def test_malformed_input_clean_error_writes_nothing(tmp_path_factory, mutate, junk, use_junk) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("bad")
    inv = base / "inv.csv"
    data = (GOOD.encode() + junk) if use_junk else mutate(GOOD).encode("latin-1")
    inv.write_bytes(data)
    out = base / "out"
    r = runner.invoke(app, ["generate", str(inv), "--out", str(out)])
    if r.exit_code == 0:
        return  # some random junk is still a valid CSV
    assert r.exit_code in (1, 3), r.output
    assert ("Traceback" not in r.output and r.exception is None) or isinstance(r.exception, SystemExit)
    assert not out.exists()
    for line in r.stderr.splitlines()[:-1]:
        assert line.startswith(str(inv) + ":") and line.count(": ") >= 2, line


def test_existing_output_untouched_on_error(tmp_path: Path) -> None:
    inv = tmp_path / "inv.csv"
    inv.write_text(GOOD)
    out = tmp_path / "out"
    assert runner.invoke(app, ["generate", str(inv), "--out", str(out)]).exit_code == 0
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    inv.write_text(GOOD + "bad row,x\n")
    r = runner.invoke(app, ["generate", str(inv), "--out", str(out)])
    assert r.exit_code == 1
    assert {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()} == before
