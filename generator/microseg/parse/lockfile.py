"""microseg.lock.json -> LockState, checked, because a hand-edited lock must not corrupt allocations."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from microseg.allocate.asn import ROLES
from microseg.allocate.transport import CONNECT_INSIDE_RESERVED, INSIDE_RESERVED, tgw_addresses
from microseg.errors import Collector
from microseg.model import CONNECT_PEERS_MAX
from microseg.netaddr import cidr_span, is_canonical_cidr, reserved_overlap
from microseg.parse.inventory import NAME
from microseg.parse.settings import PRIVATE_ASN
from microseg.state import (
    INPUT_KINDS,
    LOCK_VERSION,
    ConnectPeer,
    InputRecord,
    LockState,
    PodAlloc,
    VpcAlloc,
    pod_name,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parse_lock(text: str, label: str, problems: Collector) -> LockState:
    before = len(problems.errors)
    state = _parse_lock(text, label, problems)
    if len(problems.errors) > before:  # point each problem at its key's line (lines are found only now)
        lines = key_lines(text)
        problems.errors[before:] = [
            replace(p, line=line_of(p.column, lines)) if p.line == 0 else p for p in problems.errors[before:]
        ]
    return state


_KEY = re.compile(r'^( *)"((?:[^"\\]|\\.)*)":')


def key_lines(text: str) -> dict[str, int]:
    """Dotted key path -> line, for the indented layout the generator writes (a hand-edited lock in
    another layout just gets fewer lines)."""
    lines: dict[str, int] = {}
    stack: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _KEY.match(line)
        if m is None:
            continue
        depth = len(m.group(1)) // 2
        if depth < 1:
            continue
        stack = [*stack[: depth - 1], json.loads(f'"{m.group(2)}"')]
        lines.setdefault(".".join(stack), n)
    return lines


def line_of(path: str, lines: dict[str, int]) -> int:
    path = path.split("[", 1)[0]
    while path:
        if path in lines:
            return lines[path]
        path = path.rpartition(".")[0]
    return 0


def _parse_lock(text: str, label: str, problems: Collector) -> LockState:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.error(label, exc.lineno, f"char {exc.colno}", f"invalid JSON: {exc.msg}")
        return LockState()
    before = len(problems.errors)

    def err(path: str, msg: str) -> None:
        problems.error(label, 0, path, msg)

    if not isinstance(data, dict):
        err("-", "must be a JSON object")
        return LockState()
    if data.get("version") != LOCK_VERSION:
        err("version", f"unsupported lock version {data.get('version')!r} (expected {LOCK_VERSION})")
        return LockState()
    core = data.get("core_cidr")
    if core is not None and not _cidr_ok(core):
        err("core_cidr", f"{core!r} is not a CIDR")
    asn: dict[str, int] = {}
    for role, v in (data.get("asn") or {}).items():
        if isinstance(v, int) and not isinstance(v, bool):
            asn[role] = v
        else:
            err(f"asn.{role}", "must be an integer")
    vpcs = {k: _vpcs(data.get(k), k, err) for k in ("workloads", "tombstones")}
    pods: dict[int, PodAlloc] = {}
    raw_pods = data.get("pods") or {}
    if not isinstance(raw_pods, dict):
        err("pods", "must be an object")
        raw_pods = {}
    for name, p in raw_pods.items():
        pod = _pod(name, p, err)
        if pod is None:
            continue
        index = pod.index
        if index < 1 or name != pod_name(index):
            err(f"pods.{name}.index", f"{index} is not this pod's index (pods are pod-01, pod-02, ...)")
        elif index in pods:
            err(f"pods.{name}.index", f"{index} is used twice")
        else:
            pods[index] = pod
    block = data.get("connect_cidr_block")
    if block is not None and not _cidr_ok(block):
        err("connect_cidr_block", f"{block!r} is not a CIDR")
    if len(problems.errors) > before:
        return LockState()
    inputs = _inputs(data.get("inputs"), err)
    state = LockState(core, vpcs["workloads"], vpcs["tombstones"], asn, pods, inputs, block, text)
    check_meaning(state, label, problems)
    return state if len(problems.errors) == before else LockState()


def check_meaning(lock: LockState, label: str, problems: Collector) -> None:
    """What a well-formed lock must also mean: ranges, reserved CIDRs, private ASNs, containment,
    no overlaps. A hand edit that breaks any of it is refused (and the lock is never rewritten)."""

    def err(path: str, msg: str) -> None:
        problems.error(label, 0, path, msg)

    held: list[tuple[int, int, str]] = []
    if lock.core_cidr is not None:
        held.append((*_vpc_range(lock.core_cidr, "core_cidr", 16, 24, err), "core_cidr"))
    for role, v in lock.asn.items():
        if role not in ROLES:
            err(f"asn.{role}", f"unknown role (expected {', '.join(ROLES)})")
        elif not any(lo <= v <= hi for lo, hi in PRIVATE_ASN):
            err(f"asn.{role}", f"{v} is not a private ASN (64512-65534 or 4200000000-4294967294)")
    if len(set(lock.asn.values())) != len(lock.asn):
        err("asn", f"roles share an ASN: {dict(sorted(lock.asn.items()))}")
    for key, vpcs in (("workloads", lock.workloads), ("tombstones", lock.tombstones)):
        for name, a in vpcs.items():
            path = f"{key}.{name}"
            if not NAME.match(name):
                err(path, "is not a workload name")
            if key == "tombstones" and name in lock.workloads:
                err(path, "is both a workload and a tombstone")
            held.append((*_vpc_range(a.cidr, f"{path}.cidr", 16, 28, err), f"{path}.cidr"))
            _check_subnets(a, path, err)
    if lock.connect_cidr_block is not None:
        block = lock.connect_cidr_block
        held.append((*_vpc_range(block, "connect_cidr_block", 16, 24, err), "connect_cidr_block"))
    _check_transport(lock, err)
    held.sort(key=lambda h: (h[0], -h[1]))
    reach: tuple[int, int, str] | None = None
    for item in held:
        if reach is not None and item[0] < reach[1]:
            err(item[2], f"overlaps {reach[2]}")
        if reach is None or item[1] > reach[1]:
            reach = item


def _check_transport(lock: LockState, err) -> None:  # type: ignore[no-untyped-def]
    """Inside CIDRs (/30 tunnels, /29 Connect peers) unique, unshared and clear of AWS's reserved
    ones; TGW GRE addresses unique and inside the lock's TGW CIDR block; GRE endpoints unique and
    inside the core."""
    inside: list[tuple[str, str]] = []  # (cidr, key path)
    for p in lock.pods.values():
        for i, t in enumerate(p.tunnel_inside_cidrs):
            inside.append((t, f"pods.{p.name}.tunnel_inside_cidrs[{i}]"))
            _inside(t, inside[-1][1], 30, INSIDE_RESERVED, err)
        for i, c in enumerate(p.connect_peers):
            inside.append((c.inside_cidr, f"pods.{p.name}.connect_peers[{i}].inside_cidr"))
            _inside(c.inside_cidr, inside[-1][1], 29, CONNECT_INSIDE_RESERVED, err)
    # Overlaps among all inside blocks (a /30 inside a /29 is as shared as two equal /30s).
    reach: tuple[int, str, str] | None = None  # the furthest-reaching block so far: (end, cidr, path)
    for lo, hi, c, path in sorted((*cidr_span(c), c, path) for c, path in inside):
        if reach is not None and lo < reach[0]:
            err(
                path,
                f"{c} is also {reach[2]}" if c == reach[1] else f"{c} overlaps {reach[2]} ({reach[1]})",
            )
        if reach is None or hi > reach[0]:
            reach = (hi, c, path)
    block = lock.connect_cidr_block
    pool = tgw_addresses(block) if block is not None else range(0)
    addresses: dict[str, str] = {}
    for p in lock.pods.values():
        if len(p.connect_peers) > CONNECT_PEERS_MAX:
            err(
                f"pods.{p.name}.connect_peers",
                f"{len(p.connect_peers)} peers; AWS allows {CONNECT_PEERS_MAX} per Connect attachment",
            )
        for i, c in enumerate(p.connect_peers):
            path = f"pods.{p.name}.connect_peers[{i}].transit_gateway_address"
            a = c.transit_gateway_address
            if block is None:
                err(path, f"{a} has no connect_cidr_block to come from")
            elif _ip(a) not in pool:
                err(path, f"{a} is not a usable address of connect_cidr_block {block}")
            elif a in addresses:
                err(path, f"{a} is also {addresses[a]}")
            else:
                addresses[a] = path
    hosts: dict[str, str] = {}
    core = cidr_span(lock.core_cidr) if lock.core_cidr is not None else None
    for p in lock.pods.values():
        a = p.connect_address
        if a is None:
            continue
        path = f"pods.{p.name}.connect_address"
        if core is None or not core[0] <= _ip(a) < core[1]:
            err(path, f"{a} is outside the core {lock.core_cidr}")
        elif a in hosts:
            err(path, f"{a} is also {hosts[a]}")
        else:
            hosts[a] = path


def _inside(t: str, path: str, prefix: int, reserved: tuple[tuple[str, int], ...], err) -> None:  # type: ignore[no-untyped-def]
    lo, hi = cidr_span(t)
    inside = cidr_span("169.254.0.0/16")
    if not t.endswith(f"/{prefix}"):
        err(path, f"{t} must be a /{prefix}")
    elif not (inside[0] <= lo and hi <= inside[1]):
        err(path, f"{t} is outside 169.254.0.0/16")
    elif any(lo < b and a < hi for a, b in (cidr_span(f"{x}/{n}") for x, n in reserved)):
        names = ", ".join(f"{x}/{n}" for x, n in reserved)
        err(path, f"{t} is in a reserved inside range ({names})")


def _ip(text: str) -> int:
    return cidr_span(f"{text}/32")[0]


def _pod(name: str, p: Any, err) -> PodAlloc | None:  # type: ignore[no-untyped-def]
    """One lock pod, by shape only (meaning: check_meaning); None after reporting a bad shape."""
    try:
        index = p["index"]
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(p["az"], str):
            raise TypeError
        tunnels = tuple(p.get("tunnel_inside_cidrs") or ())
        if len(tunnels) not in (0, 2) or not all(_cidr_ok(t) for t in tunnels):
            raise ValueError
    except (KeyError, TypeError, ValueError, AttributeError):
        err(f"pods.{name}", "needs index, az and two tunnel_inside_cidrs (or none)")
        return None
    peers: list[ConnectPeer] = []
    raw = p.get("connect_peers") or []
    ok = isinstance(raw, list)
    for c in raw if ok else []:
        if (
            isinstance(c, dict)
            and set(c) == {"inside_cidr", "transit_gateway_address"}
            and _cidr_ok(c["inside_cidr"])
            and _ip_ok(c["transit_gateway_address"])
        ):
            peers.append(ConnectPeer(c["inside_cidr"], c["transit_gateway_address"]))
        else:
            ok = False
    if not ok:
        err(
            f"pods.{name}.connect_peers",
            "must be a list of {inside_cidr: a.b.c.d/29, transit_gateway_address: a.b.c.d}",
        )
        return None
    address = p.get("connect_address")
    if address is not None and not _ip_ok(address):
        err(f"pods.{name}.connect_address", f"{address!r} is not an IPv4 address")
        return None
    return PodAlloc(index, p["az"], tunnels, tuple(peers), address)


def _ip_ok(text: Any) -> bool:
    return isinstance(text, str) and is_canonical_cidr(f"{text}/32")


def _vpc_range(cidr: str, path: str, lo: int, hi: int, err) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    start, end = cidr_span(cidr)
    prefix = int(cidr.rpartition("/")[2])
    if not lo <= prefix <= hi:
        err(path, f"{cidr}: prefix must be /{lo} to /{hi}")
    hit = reserved_overlap(start, end)
    if hit is not None:
        err(path, f"{cidr} overlaps {hit}, which no VPC may use")
    return start, end


def _check_subnets(a: VpcAlloc, path: str, err) -> None:  # type: ignore[no-untyped-def]
    lo, hi = cidr_span(a.cidr)
    if not int(a.cidr.rpartition("/")[2]) < a.subnet_prefix <= 28:
        err(f"{path}.subnet_prefix", f"/{a.subnet_prefix} does not fit inside {a.cidr}")
    seen: list[tuple[int, int, str]] = []
    for az, (wl, att) in a.subnets.items():
        for kind, cidr, want in (("workload", wl, a.subnet_prefix), ("attachment", att, 28)):
            sp = f"{path}.subnets.{az}.{kind}"
            s, e = cidr_span(cidr)
            if not cidr.endswith(f"/{want}"):
                err(sp, f"{cidr} must be a /{want}")
            elif not (lo <= s and e <= hi):
                err(sp, f"{cidr} is outside {a.cidr}")
            else:
                for s2, e2, other in seen:
                    if s < e2 and s2 < e:
                        err(sp, f"{cidr} overlaps {other}")
                seen.append((s, e, sp))


def _inputs(raw: Any, err) -> dict[str, InputRecord | None]:  # type: ignore[no-untyped-def]
    out: dict[str, InputRecord | None] = {}
    if raw is None:
        return out  # a lock from before input fingerprints: nothing to compare against
    if not isinstance(raw, dict):
        err("inputs", "must be an object")
        return out
    for kind, r in raw.items():
        if kind not in INPUT_KINDS:
            err(f"inputs.{kind}", f"unknown input (expected {', '.join(INPUT_KINDS)})")
        elif r is None:
            out[kind] = None
        elif (
            isinstance(r, dict)
            and isinstance(r.get("path"), str)
            and isinstance(r.get("sha256"), str)
            and _SHA256.match(r["sha256"])
            and isinstance(r.get("rows"), int)
            and not isinstance(r.get("rows"), bool)
            and r["rows"] >= 0
        ):
            out[kind] = InputRecord(r["path"], r["sha256"], r["rows"])
        else:
            err(f"inputs.{kind}", "needs path, sha256 (64 hex digits) and rows (>= 0), or null")
    return out


def _cidr_ok(text: Any) -> bool:
    return is_canonical_cidr(text)


def _vpcs(raw: Any, key: str, err) -> dict[str, VpcAlloc]:  # type: ignore[no-untyped-def]
    out: dict[str, VpcAlloc] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        err(key, "must be an object")
        return out
    for name, v in raw.items():
        try:
            subnets = {az: (s["workload"], s["attachment"]) for az, s in v["subnets"].items()}
            if not _cidr_ok(v["cidr"]) or not all(_cidr_ok(a) and _cidr_ok(b) for a, b in subnets.values()):
                raise ValueError
            out[name] = VpcAlloc(v["cidr"], int(v["subnet_prefix"]), subnets, bool(v.get("pinned", False)))
        except (KeyError, TypeError, ValueError, AttributeError):
            err(f"{key}.{name}", "needs cidr, subnet_prefix and subnets {az: {workload, attachment}}")
    return out
