"""What the main tfvars and the per-stack tfvars have in common, written once per run: each
workload's values as JSON text (both files hold the same workloads at the same nesting level) and
the flows' lines (tfvars "flows" and the network stack's are the same). At 10k workloads and 50k
flows, writing them once for both files halves the work of the two."""

from __future__ import annotations

from dataclasses import dataclass

from microseg.plan import Plan
from microseg.policy import egress_rules
from microseg.render.flowlines import tfvars_flows
from microseg.render.jsonfmt import Lines
from microseg.render.records import workload_fields


@dataclass(frozen=True, slots=True)
class Shared:
    workloads: dict[str, dict[str, str]]  # name -> key -> its JSON text at workloads.<name>.<key>
    flows: Lines  # one line per approved flow


def render_shared(plan: Plan) -> Shared:
    ingress = plan.policy.ingress
    egress = egress_rules(plan.policy.flows, plan.workloads)
    allocations, qos = plan.allocations, plan.qos
    workloads = {}
    for name, w in plan.workloads.items():
        a = allocations[name]
        workloads[name] = workload_fields(
            account_id=w.account_id,
            azs=list(a.subnets),
            bandwidth=w.bandwidth_mbps,
            cidr=a.cidr,
            cost_center=w.cost_center,
            environment=w.environment,
            ingress_rules=ingress.get(name, []),
            internet_egress=w.internet_egress,
            owner=w.owner,
            qos=qos[name],
            subnets=a.subnets,
            egress_rules=egress.get(name, []),
        )
    return Shared(workloads, Lines(tfvars_flows(plan.policy.flows)))
