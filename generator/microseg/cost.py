"""Monthly cost estimate with every line item, and chargeback per workload and cost center.

Direct costs (a workload's own TGW attachment, its processed GB, its internet egress) are charged
to it; shared costs (pods, VPN, core and management attachments, endpoints, NAT, EIPs, logs,
alarms, volumes, keys, health checks) are split by promised bandwidth, because promised bandwidth
is what sizes the fleet. Every amount is whole cents: line items are rounded once, the total is
their sum, and chargeback splits the total by largest remainder, so every view adds up exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

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
    cents: int  # the line total, rounded once
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
    checks = pods * settings.health_checks_per_hour * h
    vpn = settings.transport == "vpn"
    # Connect pods have no VPN connection and no vpn EIP (GRE rides the core's VPC attachment).
    pod_attachment = "VPNs" if vpn else "Connect attachments"
    eips = (2 if vpn else 1) * pods + 1
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
            f"TGW attachment-hours, core VPC + management TGW + pod {pod_attachment}",
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
            "Site-to-site VPN connection-hours (one per pod)"
            if vpn
            else "Site-to-site VPN connections (none on connect)",
            pods * h if vpn else 0,
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
            f"Public IPv4 (EIP) hours: {'vpn + fw' if vpn else 'fw'} per pod, NAT",
            eips * h,
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
        _item(
            "log_ingestion",
            f"Log ingestion, VPC and fw flow logs ({settings.log_gb_per_traffic_gb:g} GB per GB of traffic)",
            total_gb * settings.log_gb_per_traffic_gb,
            "GB",
            p.log_ingestion_per_gb,
            True,
        ),
        _item(
            "cloudwatch_alarms",
            f"CloudWatch alarms ({settings.alarms_per_pod} per pod + {settings.alarms_fixed})",
            settings.alarms_per_pod * pods + settings.alarms_fixed,
            "alarm-month",
            p.cloudwatch_alarm_month,
            True,
        ),
        _item(
            "ebs",
            f"EBS gp3 root volumes ({settings.ebs_gb_per_instance} GB x {2 * pods + 1} instances)",
            settings.ebs_gb_per_instance * (2 * pods + 1),
            "GB-month",
            p.ebs_gb_month,
            True,
        ),
        _item(
            "kms", "KMS customer managed keys (logs)", settings.kms_keys, "key-month", p.kms_key_month, True
        ),
        _item(
            "lambda_requests",
            f"Lambda health checks ({settings.health_checks_per_hour} per pod and hour)",
            checks,
            "request",
            p.lambda_request,
            True,
        ),
        _item(
            "lambda_compute",
            f"Lambda health-check compute ({settings.health_check_gb_seconds:g} GB-s each)",
            checks * settings.health_check_gb_seconds,
            "GB-second",
            p.lambda_gb_second,
            True,
        ),
    ]

    total = sum(i.cents for i in items)
    shared = sum(i.cents for i in items if i.shared)
    direct_total = total - shared
    names = [w.name for w in workloads]
    direct_exact = [
        h * p.tgw_attachment_hour
        + w.monthly_gb * settings.tgw_passes * p.tgw_data_per_gb
        + (w.monthly_gb * settings.internet_fraction * p.internet_egress_per_gb if w.internet_egress else 0.0)
        for w in workloads
    ]
    direct = largest_remainder(direct_total, direct_exact, names)
    share = largest_remainder(shared, [w.bandwidth_mbps for w in workloads], names)
    per_workload: dict[str, Record] = {}
    per_cc: dict[str, int] = {}
    for w, d, sh in zip(workloads, direct, share, strict=True):
        per_workload[w.name] = Record(direct_usd=d / 100, shared_usd=sh / 100, monthly_usd=(d + sh) / 100)
        cc = w.cost_center or UNASSIGNED
        per_cc[cc] = per_cc.get(cc, 0) + d + sh
    return {
        "monthly_usd": total / 100,
        "currency": "USD",
        "hours_per_month": h,
        "price_source": p.source,
        "line_items": [
            Record(
                key=i.key,
                description=i.description,
                quantity=i.quantity,
                unit=i.unit,
                unit_usd=i.unit_usd,
                monthly_usd=i.cents / 100,
                shared=i.shared,
            )
            for i in items
        ],
        "chargeback": {
            "workloads": dict(sorted(per_workload.items())),
            "cost_centers": {k: v / 100 for k, v in sorted(per_cc.items())},
        },
    }


def largest_remainder(total: int, weights: list[float], names: list[str]) -> list[int]:
    """Split ``total`` cents in proportion to ``weights`` so the parts add up exactly: everyone
    gets the floor of their quota, the cents left go to the largest remainders (ties by name)."""
    if not weights:
        return []
    whole = math.fsum(weights)
    if whole <= 0:
        weights, whole = [1.0] * len(weights), float(len(weights))
    quotas = [total * (w / whole) for w in weights]  # w / whole first: finite for any tiny whole
    parts = [math.floor(q) for q in quotas]
    left = total - sum(parts)  # float error can leave it a little off either way: settle it here
    if left:
        by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - quotas[i], names[i]))
        if left > 0:
            for i in by_remainder[:left]:
                parts[i] += 1
        else:
            for i in [i for i in reversed(by_remainder) if parts[i] > 0][:-left]:
                parts[i] -= 1
    return parts


def _item(key: str, desc: str, qty: float, unit: str, price: float, shared: bool) -> LineItem:
    """The line total is the displayed quantity times the full-precision unit price, rounded once
    to the cent (half up), so quantity x unit = total is checkable from the report."""
    quantity = round(qty, 3)
    exact = Decimal(repr(float(quantity))) * Decimal(repr(float(price)))
    cents = int((exact * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return LineItem(key, desc, quantity, unit, price, cents, shared)


def fmt_price(price: float) -> str:
    """A unit price at full precision (0.0000166667, not 0.00)."""
    return format(Decimal(repr(float(price))).normalize(), "f")


def fmt_quantity(quantity: float) -> str:
    return f"{quantity:,.3f}".rstrip("0").rstrip(".")
