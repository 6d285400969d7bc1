"""Monthly cost estimate with every line item, and chargeback per workload and cost center.

Direct costs (a workload's own TGW attachment, its processed GB, its internet egress) are charged
to it; shared costs (pods, VPN, core and management attachments, endpoints, NAT, EIPs) are split
by promised bandwidth, because promised bandwidth is what sizes the fleet.
"""

from __future__ import annotations

from dataclasses import dataclass

from microseg.model import Settings, Workload
from microseg.render.jsonfmt import Record

UNASSIGNED = "(unassigned)"


@dataclass(frozen=True, slots=True)
class LineItem:
    key: str
    description: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    shared: bool


def estimate(settings: Settings, workloads: list[Workload], pods: int) -> dict[str, object]:
    p = settings.prices
    h = p.hours_per_month
    azs = len(settings.azs)
    types = settings.instance_types
    w_count = len(workloads)
    total_gb = sum(w.monthly_gb for w in workloads)
    egress_gb = sum(w.monthly_gb for w in workloads if w.internet_egress) * settings.internet_fraction
    # Workload attachments are direct; core (main TGW), core (management TGW) and VPN attachments are shared.
    shared_attachments = 2 + pods
    items = [
        _item(
            "tgw_attachments_workloads",
            "TGW attachment-hours, workload VPCs",
            w_count * h,
            "attachment-hour",
            p.tgw_attachment_hour,
            False,
        ),
        _item(
            "tgw_attachments_shared",
            "TGW attachment-hours, core VPC + management TGW + pod VPNs",
            shared_attachments * h,
            "attachment-hour",
            p.tgw_attachment_hour,
            True,
        ),
        _item(
            "tgw_data_processing",
            f"TGW data processing ({settings.tgw_passes} passes per GB: in, and out of the pods)",
            total_gb * settings.tgw_passes,
            "GB",
            p.tgw_data_per_gb,
            False,
        ),
        _item(
            "vpn_connections",
            "Site-to-site VPN connection-hours (one per pod)",
            pods * h,
            "connection-hour",
            p.vpn_connection_hour,
            True,
        ),
        _item(
            "ec2_vpn",
            f"EC2 {types['vpn']} instance-hours, pod vpn instances",
            pods * h,
            "instance-hour",
            p.instance_hour[types["vpn"]],
            True,
        ),
        _item(
            "ec2_fw",
            f"EC2 {types['fw']} instance-hours, pod fw instances",
            pods * h,
            "instance-hour",
            p.instance_hour[types["fw"]],
            True,
        ),
        _item(
            "public_ipv4",
            "Public IPv4 (EIP) hours: vpn + fw per pod, NAT",
            (2 * pods + 1) * h,
            "address-hour",
            p.public_ipv4_hour,
            True,
        ),
        _item(
            "interface_endpoints",
            f"Interface endpoint-hours ({', '.join(settings.interface_endpoints)} x {azs} AZs)",
            len(settings.interface_endpoints) * azs * h,
            "endpoint-hour",
            p.interface_endpoint_hour,
            True,
        ),
        _item(
            "nat_instance",
            f"EC2 {types['nat']} instance-hours, management NAT",
            h,
            "instance-hour",
            p.instance_hour[types["nat"]],
            True,
        ),
        _item(
            "data_transfer_internet",
            "Data transfer out to the internet",
            egress_gb,
            "GB",
            p.internet_egress_per_gb,
            False,
        ),
    ]
    total = sum(i.monthly_usd for i in items)
    shared = sum(i.monthly_usd for i in items if i.shared)
    promised = sum(w.bandwidth_mbps for w in workloads) or 1.0
    per_workload: dict[str, dict[str, float]] = {}
    per_cc: dict[str, float] = {}
    for w in workloads:
        direct = (
            h * p.tgw_attachment_hour
            + w.monthly_gb * settings.tgw_passes * p.tgw_data_per_gb
            + (
                w.monthly_gb * settings.internet_fraction * p.internet_egress_per_gb
                if w.internet_egress
                else 0.0
            )
        )
        share = shared * w.bandwidth_mbps / promised
        per_workload[w.name] = Record(
            direct_usd=round(direct, 2), shared_usd=round(share, 2), monthly_usd=round(direct + share, 2)
        )
        cc = w.cost_center or UNASSIGNED
        per_cc[cc] = per_cc.get(cc, 0.0) + direct + share
    return {
        "monthly_usd": round(total, 2),
        "currency": "USD",
        "hours_per_month": h,
        "price_source": p.source,
        "line_items": [
            Record(
                key=i.key,
                description=i.description,
                quantity=round(i.quantity, 3),
                unit=i.unit,
                unit_usd=i.unit_usd,
                monthly_usd=round(i.monthly_usd, 2),
                shared=i.shared,
            )
            for i in items
        ],
        "chargeback": {
            "workloads": dict(sorted(per_workload.items())),
            "cost_centers": {k: round(v, 2) for k, v in sorted(per_cc.items())},
        },
    }


def _item(key: str, desc: str, qty: float, unit: str, price: float, shared: bool) -> LineItem:
    return LineItem(key, desc, qty, unit, price, qty * price, shared)
