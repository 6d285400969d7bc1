"""What the main tfvars and the per-stack tfvars have in common, written once per run: each
workload's values as JSON text (both files hold the same workloads at the same nesting level) and
the flows' lines (tfvars "flows" and the network stack's are the same). At 10k workloads and 50k
flows, writing them once for both files halves the work of the two."""

from __future__ import annotations

from microseg.plan import Plan
from microseg.policy import FlowRule, egress_rules
from microseg.render.flowlines import tfvars_flows
from microseg.render.jsonfmt import Lines, Raw
from microseg.render.records import rules_json, subnets_json, workload_fields


class Shared:
    """``workloads``: name -> key -> its JSON text at workloads.<name>.<key>; ``flows``: one line per
    approved flow, written on first use, or a Raw text in their place (pipeline.producer puts there
    the flows' text the reports' child wrote)."""

    __slots__ = ("_flows", "_rules", "workloads")

    def __init__(
        self, workloads: dict[str, dict[str, str]], rules: list[FlowRule], flows: Lines | Raw | None = None
    ) -> None:
        self.workloads = workloads
        self._rules = rules
        self._flows = flows

    @property
    def flows(self) -> Lines | Raw:
        if self._flows is None:
            self._flows = Lines(tfvars_flows(self._rules))
        return self._flows


def subnet_texts(plan: Plan) -> dict[str, str]:
    """Each workload's subnets as JSON text: the lock and the tfvars hold them at the same level."""
    return {name: subnets_json(a.subnets) for name, a in plan.allocations.items()}


def ingress_texts(plan: Plan) -> dict[str, str]:
    """Each workload's ingress rules as the JSON text of its "ingress_rules" (workloads without
    any are left out)."""
    return {name: rules_json(lines) for name, lines in plan.policy.ingress.items()}


def render_shared(
    plan: Plan,
    flows: Lines | Raw | None = None,
    subnets: dict[str, str] | None = None,
    ingress: dict[str, str] | None = None,
    egress: dict[str, list[str]] | None = None,
) -> Shared:
    """``flows``: the flows' lines, if this run already wrote them. The others, if this run already
    has them: ``subnets``, subnet_texts(plan) (for the lock); ``ingress``, ingress_texts(plan);
    ``egress``, policy.egress_rules(plan.policy.flows, plan.workloads)."""
    if egress is None:
        egress = egress_rules(plan.policy.flows, plan.workloads)
    rules = plan.policy.ingress if ingress is None else {}
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
            ingress_rules=rules.get(name, []),
            internet_egress=w.internet_egress,
            owner=w.owner,
            qos=qos[name],
            subnets=a.subnets,
            subnets_text=subnets[name] if subnets is not None else None,
            ingress_text=ingress.get(name, "[]") if ingress is not None else None,
            egress_rules=egress.get(name, []),
        )
    return Shared(workloads, plan.policy.flows, flows)
