"""The topology as Graphviz dot: workloads -> TGW -> pods (per AZ) -> internet."""

from __future__ import annotations

from microseg.plan import Plan

MAX_NODES = 40  # beyond this, workloads are grouped by environment so the picture stays readable


def _q(text: str) -> str:
    # Labels carry dot's own \n line breaks; names and tags cannot contain quotes, escape them anyway.
    return '"' + text.replace('"', '\\"') + '"'


def render_dot(plan: Plan) -> str:
    s = plan.settings
    out = [
        "digraph microseg {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=1.0];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        '  subgraph cluster_workloads { label="workload VPCs"; color="#999999";',
    ]
    groups: list[tuple[str, str, bool]] = []  # (node id, label, any internet egress)
    if len(plan.workloads) <= MAX_NODES:
        for name, w in plan.workloads.items():
            label = f"{name}\\n{plan.allocations[name].cidr}\\n{w.bandwidth_mbps:g} Mbps"
            if w.account_id:
                label += f"\\naccount {w.account_id}"
            groups.append((f"w_{name}", label, w.internet_egress))
    else:
        by_env: dict[str, list[str]] = {}
        for name, w in plan.workloads.items():
            by_env.setdefault(w.environment or "(no environment)", []).append(name)
        for i, (env, names) in enumerate(sorted(by_env.items())):
            mbps = sum(plan.workloads[n].bandwidth_mbps for n in names)
            egress = any(plan.workloads[n].internet_egress for n in names)
            groups.append((f"g_{i}", f"{env}\\n{len(names)} workloads\\n{mbps:g} Mbps", egress))
    for node, label, egress in groups:
        fill = "#fff4e0" if egress else "#e8f0fe"
        out.append(f"    {_q(node)} [label={_q(label)}, fillcolor={_q(fill)}];")
    out.append("  }")
    tgw_label = f"Transit Gateway\\nASN {plan.asn['transit_gateway']}\\nRT workloads / core"
    out.append(f'  tgw [label={_q(tgw_label)}, shape=hexagon, fillcolor="#dff5e1"];')
    core_label = f"core VPC {plan.core.cidr}"
    out.append(f'  subgraph cluster_core {{ label={_q(core_label)}; color="#999999";')
    for az in s.azs:
        pods = [p for p in plan.pods.values() if p.az == az]
        out.append(f"    subgraph {_q('cluster_' + az)} {{ label={_q(az)}; style=dashed;")
        for p in pods:
            label = f"{p.name}\\nvpn + fw\\n{plan.core.bridge(p.index)}"
            out.append(f'      {_q(p.name)} [label={_q(label)}, fillcolor="#fde8e8"];')
        if not pods:
            out.append(f'      {_q("empty_" + az)} [label="no pods", style=dotted];')
        out.append("    }")
    out.append("  }")
    out.append('  internet [label="internet", shape=ellipse, fillcolor="#ffffff"];')
    for node, _, _ in groups:
        out.append(f"  {_q(node)} -> tgw;")
    for p in plan.pods.values():
        out.append(f'  tgw -> {_q(p.name)} [label="VPN/BGP ECMP", dir=both];')
        out.append(f'  {_q(p.name)} -> internet [label="SNAT"];')
    title = (
        f"{s.name}: {len(plan.workloads)} workloads, {plan.fleet.total} pods "
        f"({plan.fleet.required} required), {s.region}"
    )
    out.append(f"  label={_q(title)}; labelloc=t;")
    out.append("}")
    return "\n".join(out) + "\n"
