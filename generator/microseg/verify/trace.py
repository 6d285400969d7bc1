"""Follow every route out of every workload subnet and classify where it ends (pure: no AWS calls).

A path ends in exactly one verdict:
- `inspected`: it enters a pod (a pod's VPN attachment on the TGW, or a pod's fw ENI in the core VPC);
- `dropped`: blackhole, no route, no association, a loop, or it stays inside the VPC;
- `bypass`: it reaches another workload, the internet or anything outside the network first.

Destinations are prefixes, not single addresses: a more specific route inside a destination can
steal part of it, so every such route is traced too (`candidates`), and a prefix already covered
completely by more specific routes is skipped (it can never use the broader route).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .model import (
    BYPASS,
    DROPPED,
    INSPECTED,
    ROLE_CORE,
    ROLE_FW,
    ROLE_MANAGEMENT,
    ROLE_WORKLOAD,
    Network,
    Prefix,
    Route,
    TgwAttachment,
    TgwRoute,
    Vpc,
)

INTERNET = "internet"
MAX_HOPS = 24  # far beyond any real path (VPC -> TGW -> core VPC -> TGW ...); guards against cycles we missed


@dataclass(frozen=True)
class Hop:
    at: str  # where the lookup happened: a VPC route table or a TGW route table
    match: str  # the route that matched
    to: str  # where it sent the packet
    note: str = ""  # e.g. why a route is assumed


@dataclass(frozen=True)
class PathResult:
    source: str
    source_vpc: str
    route_table: str
    subnets: tuple[str, ...]
    destination: str
    destination_prefix: str
    hops: tuple[Hop, ...]
    verdict: str
    reason: str


@dataclass(frozen=True)
class _Outcome:
    prefix: str
    hops: tuple[Hop, ...]
    verdict: str
    reason: str


def _same_version(items: Iterable[Prefix], ref: Prefix) -> list[Prefix]:
    return [p for p in items if p.version == ref.version]


def _covered(c: Prefix, parts: Sequence[Prefix]) -> bool:
    """True when `parts` (clipped to c) cover every address of c."""
    inside: list[Prefix] = []
    for p in _same_version(parts, c):
        if c.subnet_of(p):  # type: ignore[arg-type]
            return True
        if p.subnet_of(c):  # type: ignore[arg-type]
            inside.append(p)
    return bool(inside) and list(ipaddress.collapse_addresses(inside)) == [c]  # type: ignore[arg-type]


def candidates(dest: Prefix, exclude: Sequence[Prefix], route_prefixes: Iterable[Prefix]) -> list[Prefix]:
    """The parts of `dest` that can take different routes: dest itself and every route prefix inside it.

    `exclude` removes address space that is not part of the destination (for `internet`: every
    VPC of the network), so a route to the core CIDR is not mistaken for a way to the internet.
    """
    prefixes = sorted(
        set(_same_version(route_prefixes, dest)), key=lambda p: (p.prefixlen, int(p.network_address))
    )
    inner = [p for p in prefixes if p != dest and p.subnet_of(dest)]  # type: ignore[arg-type]
    out: list[Prefix] = []
    for c in [dest, *inner]:
        more_specific = [p for p in inner if p != c and p.subnet_of(c)]  # type: ignore[arg-type]
        blocked = [x for x in _same_version(exclude, c) if x.overlaps(c)]  # type: ignore[arg-type]
        if not _covered(c, more_specific + blocked):
            out.append(c)
    return out


def lpm(routes: Iterable[Route], c: Prefix) -> Route | None:
    best: Route | None = None
    for r in routes:
        d = r.destination
        if d is None or d.version != c.version or not c.subnet_of(d):  # type: ignore[arg-type]
            continue
        if best is None or d.prefixlen > best.destination.prefixlen:  # type: ignore[union-attr]
            best = r
    return best


def tgw_lpm(routes: Iterable[TgwRoute], c: Prefix) -> list[TgwRoute]:
    """Longest prefix, then AWS's preference order; equal-rank routes share the traffic (ECMP)."""
    matching = [r for r in routes if r.destination.version == c.version and c.subnet_of(r.destination)]  # type: ignore[arg-type]
    if not matching:
        return []
    longest = max(r.destination.prefixlen for r in matching)
    matching = [r for r in matching if r.destination.prefixlen == longest]
    best_rank = min(r.rank for r in matching)
    return [r for r in matching if r.rank == best_rank]


class Tracer:
    def __init__(self, net: Network) -> None:
        self.net = net
        self._source = ""  # the workload VPC being traced: a hairpin back into it is followed, not a bypass
        self.known_cidrs: list[Prefix] = sorted(
            {c for v in net.vpcs.values() if v.role for c in v.cidrs}, key=lambda p: (p.version, str(p))
        )

    # --- entry point -----------------------------------------------------------------------
    def trace_all(self) -> list[PathResult]:
        results: list[PathResult] = []
        for vpc in self.net.workloads():
            results.extend(self.trace_workload(vpc))
        return results

    def destinations(
        self, source: Vpc, routes: Sequence[Route]
    ) -> list[tuple[str, Prefix, tuple[Prefix, ...]]]:
        out: list[tuple[str, Prefix, tuple[Prefix, ...]]] = []
        for other in self.net.workloads():
            if other.id == source.id:
                continue
            for cidr in other.cidrs:
                out.append((other.workload or other.id, cidr, ()))
        out.append((INTERNET, ipaddress.ip_network("0.0.0.0/0"), tuple(self.known_cidrs)))
        # IPv6 only matters when the table can send IPv6 anywhere but inside the VPC.
        if any(
            r.destination is not None and r.destination.version == 6 and r.target_kind != "local"
            for r in routes
        ):
            out.append((INTERNET, ipaddress.ip_network("::/0"), tuple(self.known_cidrs)))
        return out

    def trace_workload(self, vpc: Vpc) -> list[PathResult]:
        self._source = vpc.id
        by_table: dict[str, list[str]] = {}
        results: list[PathResult] = []
        name = vpc.workload or vpc.id
        subnets = sorted((s for s in self.net.subnets.values() if s.vpc_id == vpc.id), key=lambda s: s.id)
        if not subnets and not vpc.foreign:
            self.net.notes.append(f"{vpc.label} has no subnets: nothing to trace")
        for s in subnets:
            if s.route_table_id is None or s.route_table_id not in self.net.route_tables:
                results.append(
                    PathResult(
                        name, vpc.id, "-", (s.id,), "*", "*", (), DROPPED, f"subnet {s.id} has no route table"
                    )
                )
                continue
            by_table.setdefault(s.route_table_id, []).append(s.id)
        for rt_id, subnet_ids in sorted(by_table.items()):
            rt = self.net.route_tables[rt_id]
            for dest_name, dest, exclude in self.destinations(vpc, rt.routes):
                for o in self._vpc(rt_id, vpc, dest, exclude, (), frozenset(), dest_name == INTERNET):
                    results.append(
                        PathResult(
                            name,
                            vpc.id,
                            rt_id,
                            tuple(subnet_ids),
                            dest_name,
                            o.prefix,
                            o.hops,
                            o.verdict,
                            o.reason,
                        )
                    )
        return results

    # --- VPC route tables ------------------------------------------------------------------
    def _vpc(
        self,
        rt_id: str,
        vpc: Vpc,
        dest: Prefix,
        exclude: tuple[Prefix, ...],
        hops: tuple[Hop, ...],
        seen: frozenset[tuple[str, str]],
        internet: bool,
    ) -> Iterator[_Outcome]:
        rt = self.net.route_tables[rt_id]
        where = f"{rt_id} in {vpc.label}" + (f" [{rt.name}]" if rt.name else "")
        prefixes = [r.destination for r in rt.routes if r.destination is not None]
        for c in candidates(dest, exclude, prefixes):
            key = (rt_id, str(c))
            if key in seen or len(hops) >= MAX_HOPS:
                yield _Outcome(str(c), hops, DROPPED, f"routing loop: back at {rt_id} for {c}")
                continue
            route = lpm(rt.routes, c)
            if route is None:
                yield _Outcome(
                    str(c), (*hops, Hop(where, "-", "no route")), DROPPED, f"no route for {c} in {rt_id}"
                )
                continue
            hop = Hop(where, route.dest_text, _route_target_text(route))
            yield from self._vpc_target(vpc, route, c, exclude, (*hops, hop), seen | {key}, internet)
        # Prefix-list routes (e.g. a gateway endpoint for S3) lead to public AWS service addresses.
        if internet and dest.version == 4:
            for route in (r for r in rt.routes if r.destination is None):
                hop = Hop(where, route.dest_text, _route_target_text(route))
                yield from self._vpc_target(
                    vpc, route, dest, exclude, (*hops, hop), seen | {(rt_id, route.dest_text)}, internet
                )

    def _vpc_target(
        self,
        vpc: Vpc,
        route: Route,
        c: Prefix,
        exclude: tuple[Prefix, ...],
        hops: tuple[Hop, ...],
        seen: frozenset[tuple[str, str]],
        internet: bool,
    ) -> Iterator[_Outcome]:
        p, kind, tid = str(c), route.target_kind, route.target_id
        if route.state == "blackhole":
            yield _Outcome(p, hops, DROPPED, f"blackhole route to {tid or 'a deleted target'}")
        elif kind == "local":
            yield _Outcome(p, hops, DROPPED, f"stays inside {vpc.label} (local route)")
        elif kind in ("igw", "eigw"):
            yield _Outcome(
                p, hops, BYPASS, f"reaches the internet through {tid} from {vpc.label} without crossing a pod"
            )
        elif kind == "nat":
            yield _Outcome(
                p,
                hops,
                BYPASS,
                f"reaches the internet through NAT gateway {tid} in {vpc.label} without crossing a pod",
            )
        elif kind == "pcx":
            peer = self._peer_label(tid, vpc.id)
            yield _Outcome(
                p, hops, BYPASS, f"reaches {peer} through VPC peering {tid} without crossing a pod"
            )
        elif kind in ("eni", "instance"):
            member = self.net.enis.get(tid) if kind == "eni" else self.net.instances.get(tid)
            if member is not None and member.role == ROLE_FW and vpc.role == ROLE_CORE:
                yield _Outcome(p, hops, INSPECTED, f"enters {member.pod} at its fw ({tid})")
            else:
                what = f"{member.pod}'s {member.role} instance" if member else "not part of any pod"
                yield _Outcome(
                    p, hops, BYPASS, f"sent to appliance {tid} in {vpc.label} ({what}), not a pod's fw"
                )
        elif kind == "tgw":
            atts = self.net.vpc_attachments(vpc.id, tid)
            if not atts:
                yield _Outcome(p, hops, DROPPED, f"{vpc.label} has no attachment to {tid}")
            for att in atts:
                yield from self._tgw(att, c, exclude, hops, seen, internet)
        else:
            names = {"vgw": "virtual private gateway", "vpce": "VPC endpoint"}
            yield _Outcome(
                p,
                hops,
                BYPASS,
                f"leaves {vpc.label} through {names.get(kind, kind)} {tid} without crossing a pod",
            )

    def _peer_label(self, pcx: str, this_vpc: str) -> str:
        pair = self.net.peerings.get(pcx)
        if not pair:
            return "a peered VPC"
        other = pair[1] if pair[0] == this_vpc else pair[0]
        v = self.net.vpcs.get(other)
        return v.label if v else f"VPC {other}"

    # --- Transit Gateway route tables ------------------------------------------------------
    def _tgw(
        self,
        entry: TgwAttachment,
        dest: Prefix,
        exclude: tuple[Prefix, ...],
        hops: tuple[Hop, ...],
        seen: frozenset[tuple[str, str]],
        internet: bool,
    ) -> Iterator[_Outcome]:
        rt_id = self.net.association.get(entry.id)
        if rt_id is None or rt_id not in self.net.tgw_route_tables:
            yield _Outcome(
                str(dest),
                (*hops, Hop(f"{entry.tgw_id} via {entry.id}", "-", "no route table")),
                DROPPED,
                f"attachment {entry.id} is not associated with a route table (the TGW drops it)",
            )
            return
        rt = self.net.tgw_route_tables[rt_id]
        where = (f"{rt_id} [{rt.name}]" if rt.name else rt_id) + f" via {entry.id}"
        for c in candidates(dest, exclude, [r.destination for r in rt.routes]):
            key = (rt_id, str(c))
            if key in seen or len(hops) >= MAX_HOPS:
                yield _Outcome(str(c), hops, DROPPED, f"routing loop: back at {rt_id} for {c}")
                continue
            best = tgw_lpm(rt.routes, c)
            if not best:
                yield _Outcome(
                    str(c), (*hops, Hop(where, "-", "no route")), DROPPED, f"no route for {c} in {rt_id}"
                )
                continue
            match = str(best[0].destination)
            note = "; ".join(sorted({_origin_note(r) for r in best if _origin_note(r)}))
            if any(r.state == "blackhole" for r in best):
                yield _Outcome(
                    str(c),
                    (*hops, Hop(where, match, "blackhole", note)),
                    DROPPED,
                    f"blackhole route {match} in {rt_id}",
                )
                continue
            ids = sorted({a for r in best for a in r.attachment_ids})
            if not ids:
                # AWS always names the target of an active route; moto (5.x) drops it from static routes.
                # Unknown means unproven: count it as a way around the pods.
                yield _Outcome(
                    str(c),
                    (*hops, Hop(where, match, "unknown attachment", note)),
                    BYPASS,
                    f"route {match} in {rt_id} names no target attachment in the API response, "
                    "so it cannot be shown to cross a pod",
                )
                continue
            targets = [self.net.attachments[a] for a in ids if a in self.net.attachments]
            missing = [a for a in ids if a not in self.net.attachments]
            for a in missing:
                yield _Outcome(
                    str(c),
                    (*hops, Hop(where, match, a, note)),
                    DROPPED,
                    f"route {match} points at attachment {a}, which no longer exists",
                )
            pods = [self.net.vpns.get(t.resource_id) if t.kind == "vpn" else None for t in targets]
            if len(targets) > 1 and all(pods):
                # ECMP over pods: one row, every member named.
                members = ", ".join(
                    sorted(f"{m.pod} ({t.id})" for m, t in zip(pods, targets, strict=True) if m)
                )
                hop = Hop(where, match, f"ECMP over {len(targets)} pod VPN attachments: {members}", note)
                yield _Outcome(
                    str(c),
                    (*hops, hop),
                    INSPECTED,
                    f"enters one of {len(targets)} pods through their VPN attachments (ECMP)",
                )
                continue
            for t in targets:
                hop = Hop(where, match, _attachment_text(self.net, t), note)
                yield from self._tgw_target(t, c, exclude, (*hops, hop), seen | {key}, internet)

    def _tgw_target(
        self,
        att: TgwAttachment,
        c: Prefix,
        exclude: tuple[Prefix, ...],
        hops: tuple[Hop, ...],
        seen: frozenset[tuple[str, str]],
        internet: bool,
    ) -> Iterator[_Outcome]:
        p = str(c)
        if att.kind == "vpn":
            member = self.net.vpns.get(att.resource_id)
            if member:
                yield _Outcome(
                    p,
                    hops,
                    INSPECTED,
                    f"enters {member.pod} through its VPN attachment {att.id} "
                    "(the vpn instance hands it to the fw over the bridge)",
                )
            else:
                yield _Outcome(
                    p, hops, BYPASS, f"leaves through VPN connection {att.resource_id}, which is not a pod's"
                )
            return
        if att.kind != "vpc":
            yield _Outcome(
                p,
                hops,
                BYPASS,
                f"leaves the transit gateway through {att.kind} attachment {att.id} without crossing a pod",
            )
            return
        vpc = self.net.vpcs.get(att.resource_id)
        if vpc is None or vpc.role is None:
            label = vpc.label if vpc else f"VPC {att.resource_id}"
            yield _Outcome(
                p, hops, BYPASS, f"reaches {label}, outside the microseg network, without crossing a pod"
            )
            return
        if vpc.role == ROLE_MANAGEMENT:
            yield _Outcome(p, hops, BYPASS, f"reaches the management VPC {vpc.id} without crossing a pod")
            return
        if vpc.role == ROLE_WORKLOAD and vpc.id != self._source:
            yield _Outcome(p, hops, BYPASS, f"reaches {vpc.label} without crossing a pod")
            return
        if vpc.role not in (ROLE_CORE, ROLE_WORKLOAD):
            yield _Outcome(p, hops, BYPASS, f"reaches {vpc.label} without crossing a pod")
            return
        tables = sorted(
            {
                s.route_table_id
                for sid in att.subnet_ids
                if (s := self.net.subnets.get(sid)) is not None and s.route_table_id in self.net.route_tables
            }
        )
        if not tables:
            yield _Outcome(
                p, hops, DROPPED, f"attachment {att.id} has no subnets with a route table in {vpc.label}"
            )
        for rt_id in tables:
            yield from self._vpc(rt_id, vpc, c, exclude, hops, seen, internet)


def _route_target_text(route: Route) -> str:
    return "local" if route.target_kind == "local" else route.target_id


def _origin_note(r: TgwRoute) -> str:
    return {
        "vpc-cidr": "propagated VPC CIDR (derived from the propagation)",
        "vpn-static": "VPN static route (derived from the VPN connection)",
        "assumed-bgp": "BGP 0.0.0.0/0 assumed from the VPN propagation (the API shows no learned routes)",
    }.get(r.origin, "")


def _attachment_text(net: Network, a: TgwAttachment) -> str:
    if a.kind == "vpn":
        m = net.vpns.get(a.resource_id)
        return f"{a.id} (vpn {a.resource_id}{', ' + m.pod if m else ''})"
    if a.kind == "vpc":
        v = net.vpcs.get(a.resource_id)
        return f"{a.id} ({v.label if v else 'VPC ' + a.resource_id})"
    return f"{a.id} ({a.kind} {a.resource_id})"


def trace_network(net: Network) -> list[PathResult]:
    return Tracer(net).trace_all()


__all__ = [
    "BYPASS",
    "DROPPED",
    "INSPECTED",
    "INTERNET",
    "ROLE_WORKLOAD",
    "Hop",
    "PathResult",
    "Tracer",
    "candidates",
    "lpm",
    "tgw_lpm",
    "trace_network",
]
