"""report.md: what a change-review board reads."""

from __future__ import annotations

from microseg.cost import fmt_price, fmt_quantity
from microseg.model import TUNNEL_MBPS, Settings
from microseg.plan import Plan
from microseg.render.report_json import quota_report

SUBNET_TABLE_MAX = 500


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    cell = _cell
    out += ["| " + " | ".join([cell(c) for c in row]) + " |" for row in rows]
    return [*out, ""]


def _text(value: str) -> str:
    return value.replace("|", "\\|") if value else "-"


def _cell(value: object) -> str:
    if type(value) is str:
        return _text(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|") if value not in (None, "") else "-"


def render_report_md(plan: Plan) -> str:
    s, f = plan.settings, plan.fleet
    cost = plan.cost
    lines = [
        f"# {s.name} network plan ({s.region})",
        "",
        f"Generation `{plan.generation}`: every file of this set carries it (see docs/generator.md).",
        "",
        f"- Workloads: {len(plan.workloads)} (tombstones: {len(plan.tombstones)})",
        f"- Promised bandwidth: {f.total_mbps:g} Mbps; pod capacity {f.capacity_mbps:g} Mbps "
        f"({'derived from' if not s.line_of('pods.capacity_mbps') else 'set; the transport carries'} "
        f"{transport_text(s)})",
        f"- Pods: {f.total} ({f.required} required + spares; "
        f"survive AZ loss: {'yes' if s.survive_az_loss else 'no'})",
        f"- Estimated cost: ${cost['monthly_usd']:,.2f} per month ({cost['price_source']})",
        "",
        "## Warnings",
        "",
    ]
    lines += [f"- {w}" for w in plan.warnings] or ["- none"]
    lines += ["", "## Workloads", ""]
    columns = ["name", "cidr", "azs", "internet", "Mbps", "QoS Mbps/pod", "account", "environment"]
    lines += _table([*columns, "owner", "cost center"], [])[:-1]
    # Built directly, as the rules below (10k rows): the cells _cell would write for these types.
    allocations, qos, text = plan.allocations, plan.qos, _text
    lines += [
        f"| {text(n)} | {text(allocations[n].cidr + (' (pinned)' if allocations[n].pinned else ''))} | "
        f"{w.azs} | {'yes' if w.internet_egress else 'no'} | {w.bandwidth_mbps:g} | {qos[n]:g} | "
        f"{text(w.account_id or '')} | {text(w.environment)} | {text(w.owner)} | {text(w.cost_center)} |"
        for n, w in plan.workloads.items()
    ]
    lines += [""]
    lines += ["## Workload subnets", ""]
    if len(plan.allocations) > SUBNET_TABLE_MAX:
        # Tens of thousands of rows help no reviewer; the tfvars hold every subnet.
        lines += [f"{len(plan.allocations)} workloads: see microseg.auto.tfvars.json for every subnet.", ""]
    else:
        lines += _table(
            ["workload", "az", "workload subnet", "attachment subnet"],
            [[n, az, a, b] for n, alloc in plan.allocations.items() for az, (a, b) in alloc.subnets.items()],
        )
    if plan.tombstones or plan.released:
        lines += ["## Tombstones (reserved until `--release NAME`)", ""]
        lines += _table(["name", "cidr"], [[n, a.cidr] for n, a in plan.tombstones.items()])
        if plan.released:
            lines += [f"Released in this run: {', '.join(plan.released)}", ""]
    lines += ["## ASNs", ""]
    lines += _table(["role", "asn"], [[k.replace("_", " "), v] for k, v in plan.asn.items()])
    lines += ["## Core VPC", "", f"CIDR {plan.core.cidr}; internal block {plan.core.internal_block}.", ""]
    lines += _table(
        ["az", "public", "internal", "management", "tgw"],
        [[az, v["public"], v["internal"], v["management"], v["tgw"]] for az, v in plan.core.subnets.items()],
    )
    lines += [
        "## Pods",
        "",
        f"required = ceil({f.total_mbps:g} / {f.capacity_mbps:g}) = {f.required}; "
        f"total = {f.total} ({s.spare_pods} spare(s)"
        + (
            ", raised so the fleet minus its largest AZ still holds the required pods)"
            if s.survive_az_loss
            else ")"
        ),
        "",
    ]
    lines += _table(["az", "pods"], [[az, n] for az, n in f.per_az.items()])
    if s.transport == "vpn":
        lines += _table(
            ["pod", "az", "bridge", "tunnel inside CIDRs", "fw internal"],
            [
                [
                    p.name,
                    p.az,
                    plan.core.bridge(p.index),
                    ", ".join(p.tunnel_inside_cidrs),
                    plan.core.fw_internal_ip(p.az, p.index),
                ]
                for p in plan.pods.values()
            ],
        )
    else:
        lines += [
            f"TGW CIDR block (GRE addresses of the TGW side): {s.connect_cidr_block}. Each Connect peer's "
            "/29 gives the vpn instance its first address and the TGW two BGP addresses.",
            "",
        ]
        lines += _table(
            [
                "pod",
                "az",
                "bridge",
                "GRE address (vpn)",
                "Connect peers (inside /29 -> TGW GRE address)",
                "fw internal",
            ],
            [
                [
                    p.name,
                    p.az,
                    plan.core.bridge(p.index),
                    p.connect_address,
                    ", ".join(f"{c.inside_cidr} -> {c.transit_gateway_address}" for c in p.connect_peers),
                    plan.core.fw_internal_ip(p.az, p.index),
                ]
                for p in plan.pods.values()
            ],
        )
    lines += [
        "## Quotas",
        "",
        "Stated quotas are limits (exit 3 when exceeded); AWS defaults only warn, from 80 %.",
        "",
    ]
    lines += _table(
        ["key", "needed", "quota", "stated", "what"],
        [[k, v["need"], v["quota"], v["stated"], v["what"]] for k, v in quota_report(plan).items()],
    )
    lines += [
        "## QoS",
        "",
        f"Each workload is shaped on every pod to promised / required ({f.required}).",
        "",
    ]
    lines += _table(["workload", "promised Mbps", "Mbps per pod"], [])[:-1]
    # Built directly, as the workloads above (10k rows): numbers need no escaping.
    lines += [f"| {text(n)} | {w.bandwidth_mbps:g} | {qos[n]:g} |" for n, w in plan.workloads.items()]
    lines += [""]
    lines += [
        "## Policy (default deny)",
        "",
        "Every pod applies these rules in order; anything else is dropped. "
        "Workload security groups admit only the approved ports from the core's internal block "
        f"({plan.core.internal_block}), where the fw SNATs east-west traffic.",
        "",
    ]
    lines += ["### Broad flows (opted in with a justification)", ""]
    if plan.broad_flows:
        lines += _table(
            ["line", "endpoint", "why it is broad", "justification"],
            [[b.line, b.endpoint, "; ".join(b.reasons), b.justification] for b in plan.broad_flows],
        )
    else:
        lines += ["none", ""]
    lines += ["### Rules", ""]
    # Built directly: at 50k flows the generic cell formatting is the slowest part of the report.
    # Names, CIDRs, protocols and references cannot contain "|" (validated), so nothing to escape.
    lines += ["| id | source | destination | protocol | ports | reference |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {fid} | {src} | {dst} | {proto} | {_ports(lo, hi)} | {ref} |"
        for fid, src, dst, _, _, proto, lo, hi, ref in plan.policy.flows
    ]
    lines += ["| default | any | any | any | - | default-deny |", ""]
    lines += ["## Cost (monthly estimate)", "", f"Prices: {cost['price_source']}.", ""]
    items = cost["line_items"]
    lines += _table(
        ["item", "quantity", "unit", "unit USD", "monthly USD"],
        [
            [
                i["description"],
                fmt_quantity(i["quantity"]),
                i["unit"],
                fmt_price(i["unit_usd"]),
                float(i["monthly_usd"]),
            ]
            for i in items
        ]
        + [["**total**", "", "", "", float(cost["monthly_usd"])]],
    )
    cb = cost["chargeback"]
    lines += ["### Chargeback per cost center", ""]
    lines += _table(["cost center", "monthly USD"], [[k, float(v)] for k, v in cb["cost_centers"].items()])
    lines += ["### Chargeback per workload", ""]
    lines += _table(["workload", "direct USD", "shared USD", "monthly USD"], [])[:-1]
    # Built directly (10k rows): the cells _cell writes for floats.
    lines += [
        f"| {_text(n)} | {float(v['direct_usd']):,.2f} | {float(v['shared_usd']):,.2f} | "
        f"{float(v['monthly_usd']):,.2f} |"
        for n, v in cb["workloads"].items()
    ]
    lines += [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _ports(lo: int, hi: int) -> str:
    if lo == -1:
        return "-"
    if (lo, hi) == (0, 65535):
        return "all"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def transport_text(s: Settings) -> str:
    if s.transport == "vpn":
        bw = s.tunnel_bandwidth or "standard"
        return f"transport vpn: 2 {bw} tunnels x {TUNNEL_MBPS[bw]:,.0f} Mbps, both carrying traffic both ways"
    return f"transport connect: {s.connect_peers} Connect peer(s) x 5,000 Mbps, ECMP across them"
