"""Read a deployed network through the EC2 API into a `Network` snapshot.

Read-only: only Describe*/Get*/Search* calls. Works the same against moto and a real account;
where moto models less than AWS (noted inline) the snapshot fills the gap the way AWS behaves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from .model import (
    ROLE_CORE,
    ROLE_FW,
    ROLE_MANAGEMENT,
    ROLE_VPN,
    ROLE_WORKLOAD,
    TAG_NETWORK,
    TAG_POD,
    TAG_ROLE,
    TAG_ROUTE_TABLE,
    TAG_WORKLOAD,
    Network,
    PodMember,
    Prefix,
    Route,
    RouteTable,
    Subnet,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    Vpc,
    prefix,
)


class CollectError(Exception):
    """The network could not be read completely (verify must not judge half a network)."""


VPC_ROLES = (ROLE_CORE, ROLE_WORKLOAD, ROLE_MANAGEMENT)
GONE = {"deleted", "deleting", "failed", "rejected", "failing"}

# AWS TGW route evaluation for equal prefixes: static, VPC-propagated, Direct Connect, Connect, VPN.
RANK = {"static": 0, "vpc": 1, "direct-connect-gateway": 2, "connect": 3, "vpn": 4}


def tags_of(item: dict[str, Any], key: str = "Tags") -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in item.get(key) or []}


def _all(client: Any, op: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a Describe* call, through its paginator when it has one."""
    if client.can_paginate(op):
        out: list[dict[str, Any]] = []
        for page in client.get_paginator(op).paginate(**kwargs):
            out.extend(page.get(key) or [])
        return out
    return list(getattr(client, op)(**kwargs).get(key) or [])


def _route(r: dict[str, Any]) -> Route | None:
    dest_text = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")
    dest = prefix(dest_text) if dest_text else None
    pl = r.get("DestinationPrefixListId")
    if dest is None and not pl:
        return None
    gw = r.get("GatewayId") or ""
    kind, tid = "other", ""
    if gw == "local":
        kind, tid = "local", "local"
    elif r.get("TransitGatewayId"):
        kind, tid = "tgw", r["TransitGatewayId"]
    elif r.get("NatGatewayId"):
        kind, tid = "nat", r["NatGatewayId"]
    elif r.get("VpcPeeringConnectionId"):
        kind, tid = "pcx", r["VpcPeeringConnectionId"]
    elif r.get("EgressOnlyInternetGatewayId"):
        kind, tid = "eigw", r["EgressOnlyInternetGatewayId"]
    elif r.get("NetworkInterfaceId"):  # an instance route also names its ENI: the ENI is the precise target
        kind, tid = "eni", r["NetworkInterfaceId"]
    elif r.get("InstanceId"):
        kind, tid = "instance", r["InstanceId"]
    elif gw.startswith("igw-"):
        kind, tid = "igw", gw
    elif gw.startswith("vgw-"):
        kind, tid = "vgw", gw
    elif gw.startswith("vpce-"):
        kind, tid = "vpce", gw
    else:
        for k in ("CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn", "GatewayId"):
            if r.get(k):
                kind, tid = k.removesuffix("Id").removesuffix("Arn").lower(), r[k]
                break
    state = "blackhole" if r.get("State") == "blackhole" else "active"
    return Route(dest, kind, tid, state, pl if dest is None else None)


def _pod_member(*tag_sets: dict[str, str]) -> PodMember | None:
    """The first tag set naming a pod role wins (an ENI's own tags, then its instance's); the pod
    name may come from any of them (the pod module tags every resource with microseg:pod)."""
    role = next((t[TAG_ROLE] for t in tag_sets if t.get(TAG_ROLE) in (ROLE_FW, ROLE_VPN)), None)
    if role is None:
        return None
    pod = next((t[TAG_POD] for t in tag_sets if t.get(TAG_POD)), "unnamed pod")
    return PodMember(pod, role)


def _cidrs(v: dict[str, Any]) -> tuple[Prefix, ...]:
    cidrs: list[Prefix] = [
        prefix(a["CidrBlock"])
        for a in v.get("CidrBlockAssociationSet") or []
        if (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"
    ] or [prefix(v["CidrBlock"])]
    cidrs += [
        prefix(a["Ipv6CidrBlock"])
        for a in v.get("Ipv6CidrBlockAssociationSet") or []
        if a.get("Ipv6CidrBlock")
        and (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"
    ]
    return tuple(dict.fromkeys(cidrs))


# Opens an EC2 client in another account (a workload account of a RAM-shared TGW), or raises.
AccountOpener = Callable[[str], Any]


def _read_vpcs(
    ec2: Any, net: Network, vpc_tags: dict[str, dict[str, str]], vpc_cidrs: dict[str, Any]
) -> None:
    """One account's VPCs, route tables, subnets and peerings, added to `net` (and the two dicts)."""
    raw_vpcs = _all(ec2, "describe_vpcs", "Vpcs")
    vpc_tags.update({v["VpcId"]: tags_of(v) for v in raw_vpcs})
    vpc_cidrs.update({v["VpcId"]: _cidrs(v) for v in raw_vpcs})

    explicit: dict[str, str] = {}
    main_table: dict[str, str] = {}
    for rt in _all(ec2, "describe_route_tables", "RouteTables"):
        routes = [r for r in (_route(x) for x in rt.get("Routes") or []) if r is not None]
        net.route_tables[rt["RouteTableId"]] = RouteTable(
            rt["RouteTableId"], rt["VpcId"], routes, tags_of(rt).get("Name", "")
        )
        for a in rt.get("Associations") or []:
            if (a.get("AssociationState") or {}).get("State", "associated") != "associated":
                continue
            if a.get("Main"):
                main_table[rt["VpcId"]] = rt["RouteTableId"]
            elif a.get("SubnetId"):
                explicit[a["SubnetId"]] = rt["RouteTableId"]

    for s in _all(ec2, "describe_subnets", "Subnets"):
        net.subnets[s["SubnetId"]] = Subnet(
            id=s["SubnetId"],
            vpc_id=s["VpcId"],
            cidr=prefix(s["CidrBlock"]) if s.get("CidrBlock") else prefix("::/128"),
            az=s.get("AvailabilityZone", ""),
            route_table_id=explicit.get(s["SubnetId"], main_table.get(s["VpcId"])),
            name=tags_of(s).get("Name", ""),
        )

    for p in _all(ec2, "describe_vpc_peering_connections", "VpcPeeringConnections"):
        if (p.get("Status") or {}).get("Code") in GONE:
            continue
        net.peerings[p["VpcPeeringConnectionId"]] = (
            (p.get("RequesterVpcInfo") or {}).get("VpcId", ""),
            (p.get("AccepterVpcInfo") or {}).get("VpcId", ""),
        )


def collect(
    ec2: Any,
    region: str,
    name: str,
    open_account: AccountOpener | None = None,
    accounts: Sequence[str] = (),
) -> Network:
    """The network as the network account's `ec2` sees it.

    With `open_account`, the VPCs of every other account that owns a VPC attachment to this
    network's transit gateways (and of `accounts`) are read through the client it returns, so their
    workloads are traced from their own route tables instead of being seen from the TGW only.
    """
    net = Network(region=region, name=name)
    vpc_tags: dict[str, dict[str, str]] = {}
    vpc_cidrs: dict[str, Any] = {}
    _read_vpcs(ec2, net, vpc_tags, vpc_cidrs)

    # --- pods: instances, ENIs, VPN connections ----------------------------------------------
    instance_tags: dict[str, dict[str, str]] = {}
    for res in _all(ec2, "describe_instances", "Reservations"):
        for i in res.get("Instances") or []:
            if (i.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                continue
            instance_tags[i["InstanceId"]] = tags_of(i)
            if m := _pod_member(tags_of(i)):
                net.instances[i["InstanceId"]] = m
    vpn_public_ips: dict[str, PodMember] = {}
    fw_vpcs: set[str] = set()
    for e in _all(ec2, "describe_network_interfaces", "NetworkInterfaces"):
        inst = (e.get("Attachment") or {}).get("InstanceId")
        # An ENI's own tags first; ENIs made apart from their instance often carry only microseg:pod.
        m = _pod_member(tags_of(e, "TagSet"), instance_tags.get(inst or "", {}))
        if m is None:
            continue
        net.enis[e["NetworkInterfaceId"]] = m
        if m.role == ROLE_FW:
            fw_vpcs.add(e.get("VpcId", ""))
        if m.role == ROLE_VPN:
            for addr in e.get("PrivateIpAddresses") or []:
                if ip := (addr.get("Association") or {}).get("PublicIp"):
                    vpn_public_ips[ip] = m
            if ip := (e.get("Association") or {}).get("PublicIp"):
                vpn_public_ips[ip] = m

    cgws = {c["CustomerGatewayId"]: c for c in ec2.describe_customer_gateways().get("CustomerGateways") or []}
    vpn_static: dict[str, list[Prefix]] = {}
    for v in ec2.describe_vpn_connections().get("VpnConnections") or []:
        if v.get("State") in GONE:
            continue
        cgw = cgws.get(v.get("CustomerGatewayId", ""), {})
        # A pod's VPN: tagged with its pod (connection or customer gateway), or its customer gateway IP
        # is a pod vpn instance's EIP.
        pod = tags_of(v).get(TAG_POD) or tags_of(cgw).get(TAG_POD)
        member = PodMember(pod, ROLE_VPN) if pod else vpn_public_ips.get(cgw.get("IpAddress", ""))
        if member is not None:
            net.vpns[v["VpnConnectionId"]] = member
        if (v.get("Options") or {}).get("StaticRoutesOnly"):
            vpn_static[v["VpnConnectionId"]] = [
                prefix(r["DestinationCidrBlock"])
                for r in v.get("Routes") or []
                if r.get("DestinationCidrBlock") and r.get("State", "available") not in GONE
            ]

    # --- Transit Gateways ------------------------------------------------------------------
    default_assoc: dict[str, str] = {}
    tgw_owners: set[str] = set()
    for g in _all(ec2, "describe_transit_gateways", "TransitGateways"):
        if g.get("State") in GONE:
            continue
        tgw_owners.add(g.get("OwnerId", ""))
        opts = g.get("Options") or {}
        if opts.get("AssociationDefaultRouteTableId"):
            default_assoc[g["TransitGatewayId"]] = opts["AssociationDefaultRouteTableId"]

    att_names: dict[str, str] = {}
    owners: set[str] = set()
    vpc_att_subnets = {
        a["TransitGatewayAttachmentId"]: tuple(a.get("SubnetIds") or [])
        for a in _all(ec2, "describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments")
    }
    for a in _all(ec2, "describe_transit_gateway_attachments", "TransitGatewayAttachments"):
        if a.get("State") in GONE:
            continue
        aid = a["TransitGatewayAttachmentId"]
        att_names[aid] = tags_of(a).get("Name", "")
        net.attachments[aid] = TgwAttachment(
            aid,
            a["TransitGatewayId"],
            a.get("ResourceType", ""),
            a.get("ResourceId", ""),
            vpc_att_subnets.get(aid, ()),
            a.get("State", ""),
        )
        if a.get("ResourceType") == "vpc" and a.get("ResourceOwnerId"):
            owners.add(a["ResourceOwnerId"])

    # --- the other accounts' VPCs (before anything is classified or derived from VPC CIDRs) ----
    if open_account is not None:
        for account in sorted((owners - tgw_owners) | set(accounts)):
            before = set(vpc_tags)
            _read_vpcs(open_account(account), net, vpc_tags, vpc_cidrs)
            net.accounts[account] = sorted(set(vpc_tags) - before)

    associated: dict[str, list[str]] = defaultdict(list)
    propagations: dict[str, list[str]] = {}
    rt_purpose: dict[str, str] = {}  # TGW route table -> workloads/core, for tables of this network
    for t in _all(ec2, "describe_transit_gateway_route_tables", "TransitGatewayRouteTables"):
        if t.get("State") in GONE:
            continue
        rt_id, rt_tags = t["TransitGatewayRouteTableId"], tags_of(t)
        net.tgw_route_tables[rt_id] = TgwRouteTable(rt_id, t["TransitGatewayId"], rt_tags.get("Name", ""))
        if TAG_ROUTE_TABLE in rt_tags and _named(rt_tags, name):
            rt_purpose[rt_id] = rt_tags[TAG_ROUTE_TABLE]
        for a in _all(
            ec2,
            "get_transit_gateway_route_table_associations",
            "Associations",
            TransitGatewayRouteTableId=rt_id,
        ):
            if (
                a.get("State", "associated") == "associated"
                and a["TransitGatewayAttachmentId"] in net.attachments
            ):
                associated[a["TransitGatewayAttachmentId"]].append(rt_id)
        propagations[rt_id] = [
            p["TransitGatewayAttachmentId"]
            for p in _all(
                ec2,
                "get_transit_gateway_route_table_propagations",
                "TransitGatewayRouteTablePropagations",
                TransitGatewayRouteTableId=rt_id,
            )
            if p.get("State", "enabled") == "enabled"
        ]

    for aid, tables in sorted(associated.items()):
        tables = sorted(set(tables))
        if len(tables) > 1:
            # AWS allows one association per attachment. moto also lists every VPC attachment under the
            # TGW's default route table, even with default association disabled: the other one is real.
            real = [t for t in tables if t != default_assoc.get(net.attachments[aid].tgw_id)]
            if len(real) == 1:
                tables = real
            else:
                net.notes.append(f"{aid} reports associations with {', '.join(tables)}; using {tables[0]}")
        net.association[aid] = tables[0]

    # --- which VPC is what ------------------------------------------------------------------
    for vpc_id, t in vpc_tags.items():
        role, workload = _classify(net, name, vpc_id, t, rt_purpose, fw_vpcs)
        net.vpcs[vpc_id] = Vpc(vpc_id, vpc_cidrs[vpc_id], role, workload, t.get("Name", ""))
    # Of each other account, the VPCs of this network (its default VPC and others are not ours).
    for account, ids in net.accounts.items():
        net.accounts[account] = [v for v in ids if net.vpcs[v].role is not None]
        net.notes.append(
            f"account {account}: read through its role, {len(net.accounts[account])} VPC(s) of this network"
        )

    for rt_id, table in net.tgw_route_tables.items():
        table.routes = _tgw_routes(ec2, net, table, propagations.get(rt_id, []), vpn_static)
    _foreign_workloads(net, name, rt_purpose, att_names)
    return net


def _foreign_workloads(
    net: Network, name: str, rt_purpose: dict[str, str], att_names: dict[str, str]
) -> None:
    """Workload VPCs of other accounts (RAM-shared TGW): their attachment is visible here, the VPC is not.

    They still count as workloads (a path into them is a bypass) with the CIDRs the TGW propagates
    for them; their own route tables must be verified with that account's credentials.
    """
    # The `workloads` table: tagged so, or the one this account's workload attachments use.
    workload_rts = {rt for rt, purpose in rt_purpose.items() if purpose == "workloads"} | {
        net.association[a.id]
        for v in net.workloads()
        for a in net.vpc_attachments(v.id)
        if a.id in net.association
    }
    for att in sorted(net.attachments.values(), key=lambda a: a.id):
        if att.kind != "vpc" or att.resource_id in net.vpcs:
            continue
        if net.association.get(att.id) not in workload_rts:
            continue
        cidrs = tuple(
            sorted(
                {
                    r.destination
                    for t in net.tgw_route_tables.values()
                    for r in t.routes
                    if r.kind == "propagated" and r.origin == "api" and att.id in r.attachment_ids
                },
                key=str,
            )
        )
        label = _short(att_names.get(att.id, ""), name) or att.resource_id
        net.vpcs[att.resource_id] = Vpc(
            att.resource_id, cidrs, ROLE_WORKLOAD, label, att_names.get(att.id, ""), foreign=True
        )
        net.notes.append(
            f"workload {label} ({att.resource_id}, attachment {att.id}) is in another account: its route "
            "tables were not read; run verify with that account's credentials too"
            + ("" if cidrs else ", and no propagated route shows its CIDR, so no path towards it was traced")
        )


def _named(tags: dict[str, str], name: str) -> bool:
    if TAG_NETWORK in tags:
        return tags[TAG_NETWORK] == name
    label = tags.get("Name", "")
    return label == name or label.startswith(f"{name}-")


def _classify(
    net: Network, name: str, vpc_id: str, tags: dict[str, str], rt_purpose: dict[str, str], fw_vpcs: set[str]
) -> tuple[str | None, str | None]:
    """A VPC's role in network `name`: from its tags (authoritative), else from how it is wired.

    Fallback without role tags: a VPC whose TGW attachment is associated with this network's
    `workloads` table is a workload; one associated with `core` that hosts a pod fw is the core.
    """
    if tags.get(TAG_ROLE) in VPC_ROLES:
        if not _named(tags, name):
            return None, None
        role = tags[TAG_ROLE]
        if role != ROLE_WORKLOAD:
            return role, None
        return role, tags.get(TAG_WORKLOAD) or _short(tags.get("Name", ""), name) or vpc_id
    purposes = {rt_purpose.get(net.association.get(a.id, "")) for a in net.vpc_attachments(vpc_id)} - {None}
    if "workloads" in purposes:
        net.notes.append(
            f"{vpc_id} has no {TAG_ROLE} tag: taken as a workload because its attachment is "
            "associated with the workloads route table"
        )
        return ROLE_WORKLOAD, tags.get(TAG_WORKLOAD) or _short(tags.get("Name", ""), name) or vpc_id
    if "core" in purposes and vpc_id in fw_vpcs:
        net.notes.append(
            f"{vpc_id} has no {TAG_ROLE} tag: taken as the core because it hosts pod fw ENIs and "
            "its attachment is associated with the core route table"
        )
        return ROLE_CORE, None
    if purposes:
        net.notes.append(
            f"{vpc_id} is attached to this network's transit gateway but has no {TAG_ROLE} tag and "
            "could not be classified: not traced, and any path into it counts as a bypass"
        )
    return None, None


def _short(label: str, name: str) -> str:
    return label.removeprefix(f"{name}-") if label else ""


def _search(ec2: Any, rt_id: str, route_type: str) -> list[dict[str, Any]]:
    resp = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=rt_id,
        Filters=[
            {"Name": "type", "Values": [route_type]},
            {"Name": "state", "Values": ["active", "blackhole"]},
        ],
    )
    if resp.get("AdditionalRoutesAvailable"):
        raise CollectError(f"{rt_id} has more {route_type} routes than one search returns (1000)")
    return list(resp.get("Routes") or [])


def _tgw_routes(
    ec2: Any, net: Network, table: TgwRouteTable, propagations: list[str], vpn_static: dict[str, list[Prefix]]
) -> list[TgwRoute]:
    routes: list[TgwRoute] = []
    learned: set[str] = set()  # attachments the API already shows propagated routes for
    for route_type in ("static", "propagated"):
        for r in _search(ec2, table.id, route_type):
            text = r.get("DestinationCidrBlock")
            if not text:
                continue  # prefix-list references: not used by microseg
            atts = tuple(
                sorted(
                    a["TransitGatewayAttachmentId"]
                    for a in r.get("TransitGatewayAttachments") or []
                    if a.get("TransitGatewayAttachmentId")
                )
            )
            kinds = {net.attachments[a].kind for a in atts if a in net.attachments}
            rank = 0 if route_type == "static" else min((RANK.get(k, 5) for k in kinds), default=5)
            learned.update(atts if route_type == "propagated" else ())
            routes.append(TgwRoute(prefix(text), atts, r.get("State", "active"), route_type, "api", rank))

    # moto keeps no propagated routes at all, and a real TGW shows VPN routes only while BGP is up:
    # derive what each enabled propagation contributes when the API shows nothing for it.
    for aid in propagations:
        att = net.attachments.get(aid)
        if att is None or aid in learned:
            continue
        if att.kind == "vpc":
            vpc = net.vpcs.get(att.resource_id)
            for c in vpc.cidrs if vpc else ():
                routes.append(TgwRoute(c, (aid,), "active", "propagated", "vpc-cidr", RANK["vpc"]))
        elif att.kind == "vpn" and att.resource_id in vpn_static:
            for c in vpn_static[att.resource_id]:
                routes.append(TgwRoute(c, (aid,), "active", "propagated", "vpn-static", RANK["vpn"]))
        elif att.kind in ("vpn", "connect"):
            # A pod advertises 0.0.0.0/0 over BGP once healthy. For any other BGP peer we cannot know what it
            # advertises, so assume the worst (everything): the tracer then reports it as a way out.
            routes.append(
                TgwRoute(
                    prefix("0.0.0.0/0"), (aid,), "active", "propagated", "assumed-bgp", RANK.get(att.kind, 5)
                )
            )
        elif att.kind == "direct-connect-gateway":
            routes.append(
                TgwRoute(
                    prefix("0.0.0.0/0"),
                    (aid,),
                    "active",
                    "propagated",
                    "assumed-bgp",
                    RANK["direct-connect-gateway"],
                )
            )

    # Equal prefix and rank from several attachments = one ECMP route, as the TGW shows it.
    merged: dict[tuple[str, str, int, str], list[str]] = defaultdict(list)
    origin: dict[tuple[str, str, int, str], str] = {}
    for r in routes:
        key = (str(r.destination), r.kind, r.rank, r.state)
        merged[key].extend(r.attachment_ids)
        origin.setdefault(key, r.origin)
    return [
        TgwRoute(prefix(d), tuple(sorted(set(atts))), state, kind, origin[(d, kind, rank, state)], rank)
        for (d, kind, rank, state), atts in sorted(merged.items())
    ]
