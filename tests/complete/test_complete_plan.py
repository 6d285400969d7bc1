"""examples/complete planned from the generator's real tfvars: the packet path of DESIGN.md.

One plan (examples/inventory.csv + flows.csv, 7 workloads of which one in a second account, 5 pods
over 3 AZs) against moto with the real hashicorp/aws provider; every test reads the same plan JSON.
IDs are unknown at plan time, so wiring is proven through the plan's configuration references
(route target -> variable -> module call -> output -> resource) and values where they are known.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
from complete_support import EXAMPLE, Config, after, build_lambda, generate, moto_ami, of_type, prior_data
from tfharness import CLIS, REPO, Sandbox, TfRoot, assert_inventory, moto_env, plan_summary

pytestmark = pytest.mark.plan
HERE = Path(__file__).parent
TGW = "module.transit_gateway.aws_ec2_transit_gateway.this"
RT_WORKLOADS = 'module.transit_gateway.aws_ec2_transit_gateway_route_table.this["workloads"]'
RT_CORE = 'module.transit_gateway.aws_ec2_transit_gateway_route_table.this["core"]'
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module", params=sorted(CLIS))
def planned(
    request: pytest.FixtureRequest, moto_server, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tfvars, plan JSON) of examples/complete, planned once per CLI: every test below holds for
    both Terraform and OpenTofu."""
    moto_server.reset()
    env = moto_env(moto_server.endpoint)
    tmp = tmp_path_factory.mktemp("complete-plan")
    tfvars = generate(tmp / "gen")
    extra = {
        "ami_id": moto_ami(Sandbox(env, real=False).client),
        "lambda_zip_path": str(build_lambda(tmp)),
    }
    root = TfRoot(REPO / EXAMPLE, tmp / "root", env, request.param)
    plan = root.plan(extra, var_files=(tmp / "gen" / "microseg.auto.tfvars.json",))
    return tfvars, plan


def _workload_module(tfvars: dict[str, Any], name: str) -> str:
    return "workload_shared" if tfvars["workloads"][name]["account_id"] else "workload"


def test_inputs_are_the_example_inventory(planned) -> None:
    tfvars, _ = planned
    assert len(tfvars["workloads"]) >= 6
    assert len(tfvars["pods"]) >= 3 and len({p["az"] for p in tfvars["pods"].values()}) == 3
    assert tfvars["ram_share_accounts"], "the example inventory must put a workload in a second account"


def test_plan_matches_inventory(planned) -> None:
    _, plan = planned
    assert_inventory(plan_summary(plan), HERE / "inventory.yaml")


def test_workload_default_routes_go_to_the_tgw(planned) -> None:
    """1. Every workload route table: 0.0.0.0/0 -> TGW, and no other way out (no IGW/NAT/peering)."""
    tfvars, plan = planned
    cfg = Config(plan)
    values = after(plan)
    for name in tfvars["workloads"]:
        mod = _workload_module(tfvars, name)
        if mod == "workload":
            route = f'module.{mod}["{name}"].aws_route.workload_default[0]'
            path: tuple[str, ...] = (mod,)
            address = "aws_route.workload_default"
            table: set[str] | None = {f"module.{mod}.aws_route_table.workload"}
        else:
            # Issue 9 item 6: a shared workload's route is the root's, created after the acceptance.
            route = f'aws_route.workload_shared_default["{name}"]'
            path, address = (), "aws_route.workload_shared_default"
            root_route = cfg.resource(path, address)
            assert "module.transit_gateway" in root_route.get("depends_on", [])
            # The plan names only `module.workload_shared` and `each.key` for a dynamic instance key.
            refs = root_route["expressions"]["route_table_id"]["references"]
            assert set(refs) == {"module.workload_shared", "each.key"}
            table = None
        assert values[route]["destination_cidr_block"] == "0.0.0.0/0"
        assert cfg.attr_targets(path, address, "transit_gateway_id") == {TGW}
        if table is not None:
            assert cfg.attr_targets(path, address, "route_table_id") == table
        subnets = of_type(plan, "aws_subnet", f'module.{mod}["{name}"].')
        assert sorted(v["cidr_block"] for v in subnets.values()) == sorted(
            c for s in tfvars["workloads"][name]["subnets"].values() for c in s.values()
        )
    for banned in (
        "aws_internet_gateway",
        "aws_nat_gateway",
        "aws_egress_only_internet_gateway",
        "aws_vpc_peering_connection",
    ):
        for mod in ("module.workload[", "module.workload_shared["):
            assert not of_type(plan, banned, mod), f"{banned} in a workload VPC"
    workload_routes = [
        a
        for a in of_type(plan, "aws_route")
        if a.startswith(("module.workload", "aws_route.workload_shared_default"))
    ]
    assert len(workload_routes) == len(tfvars["workloads"]), workload_routes


def test_workload_attachments_associated_with_workloads_propagated_into_core(planned) -> None:
    """2. Workload attachments: associated with `workloads`, propagated into `core` only."""
    tfvars, plan = planned
    cfg = Config(plan)
    tgw = ("transit_gateway",)
    values = after(plan)
    for name in tfvars["workloads"]:
        assert (
            f'module.transit_gateway.aws_ec2_transit_gateway_route_table_association.workload["{name}"]'
            in values
        )
        assert (
            f'module.transit_gateway.aws_ec2_transit_gateway_route_table_propagation.workload["{name}"]'
            in values
        )
    assert cfg.attr_targets(
        tgw, "aws_ec2_transit_gateway_route_table_association.workload", "transit_gateway_route_table_id"
    ) == {RT_WORKLOADS}
    assert cfg.attr_targets(
        tgw, "aws_ec2_transit_gateway_route_table_propagation.workload", "transit_gateway_route_table_id"
    ) == {RT_CORE}
    # The attachments come from both sets of workload VPCs (through the root's local).
    call = cfg.module(())["module_calls"]["transit_gateway"]["expressions"]["workload_attachments"]
    assert call["references"] == ["local.workload_attachment_ids"]
    assert cfg.attr_targets(
        ("workload",), "aws_ec2_transit_gateway_vpc_attachment.this", "transit_gateway_id"
    ) == {TGW}


def test_workloads_table_has_no_route_to_any_workload(planned) -> None:
    """3. Nothing puts a workload CIDR into `workloads`: no static route, and the only propagations
    into it are the pods' VPN attachments (whose BGP routes are 0.0.0.0/0)."""
    tfvars, plan = planned
    cfg = Config(plan)
    _assert_only_return_routes(tfvars, plan, cfg)
    into_workloads = []
    for path, address in _all_resources(cfg, "aws_ec2_transit_gateway_route_table_propagation"):
        if RT_WORKLOADS in cfg.attr_targets(path, address, "transit_gateway_route_table_id"):
            into_workloads.append(
                (path, address, cfg.attr_targets(path, address, "transit_gateway_attachment_id"))
            )
    assert into_workloads, "the pods' VPN attachments must propagate into `workloads`"
    for path, address, sources in into_workloads:
        if path == ("pod",):
            # The pod's own attachment: its VPN connection's or its TGW Connect attachment.
            attachments = {s for s in sources if ".local." not in s}
            assert attachments == {
                "module.pod.aws_vpn_connection.this[0]",
                "module.pod.aws_ec2_transit_gateway_connect.this[0]",
            }, sources
            continue
        # Anything else that could propagate into `workloads` must have no instance in this plan.
        instances = _instances(plan, path, address)
        assert not instances, f"{instances} propagate into `workloads` (sources {sources})"


def _assert_only_return_routes(tfvars: dict[str, Any], plan: dict[str, Any], cfg: Config) -> None:
    """The only static TGW routes are the east-west return routes: the core's internal subnets (the
    fw SNAT addresses) -> the core attachment, in `workloads`. None covers any workload CIDR."""
    static = of_type(plan, "aws_ec2_transit_gateway_route")
    internal = sorted(s["internal"] for s in tfvars["core"]["subnets"].values())
    assert sorted(v["destination_cidr_block"] for v in static.values()) == internal
    assert set(static) == {
        f'module.transit_gateway.aws_ec2_transit_gateway_route.workloads_return["{c}"]' for c in internal
    }
    assert all(v.get("blackhole") in (False, None) for v in static.values())
    for cidr in internal:
        for w in tfvars["workloads"].values():
            assert not ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(w["cidr"])), (cidr, w)
    tgw = ("transit_gateway",)
    route = "aws_ec2_transit_gateway_route.workloads_return"
    assert cfg.attr_targets(tgw, route, "transit_gateway_route_table_id") == {RT_WORKLOADS}
    # var.core_attachments -> the root's core_vpc output -> the core VPC attachment.
    assert cfg.attr_targets(tgw, route, "transit_gateway_attachment_id") == {
        "module.core_vpc.aws_ec2_transit_gateway_vpc_attachment.this"
    }


def test_east_west_replies_return_to_the_core_attachment(planned) -> None:
    """The fw SNATs east-west traffic to its internal address: `workloads` routes the core internal
    subnets straight back to the core attachment, so a reply reaches the very fw that sent the
    request instead of the ECMP default via any pod."""
    tfvars, plan = planned
    cfg = Config(plan)
    _assert_only_return_routes(tfvars, plan, cfg)
    call = cfg.module(())["module_calls"]["transit_gateway"]["expressions"]["workloads_return_cidrs"]
    assert call["references"] == ["local.core_internal_cidrs"]


def test_shared_workloads_wait_for_the_ram_share(planned) -> None:
    """A2: the other account's attachment takes the TGW ID from the output that depends on the RAM
    share and its principal associations."""
    _, plan = planned
    cfg = Config(plan)
    call = cfg.module(())["module_calls"]["workload_shared"]["expressions"]["transit_gateway_id"]
    assert call["references"][0] == "module.transit_gateway.ram_shared_transit_gateway_id"
    out = cfg.module(("transit_gateway",))["outputs"]["ram_shared_transit_gateway_id"]
    assert set(out["depends_on"]) == {
        "aws_ram_resource_association.this",
        "aws_ram_principal_association.this",
    }
    assert cfg.attr_targets(
        ("workload_shared",), "aws_ec2_transit_gateway_vpc_attachment.this", "transit_gateway_id"
    ) == {TGW}


def test_vpn_attachments_associated_with_core_propagated_into_workloads(planned) -> None:
    """4. Every pod: VPN on the TGW, attachment associated with `core`, propagated into `workloads`."""
    tfvars, plan = planned
    cfg = Config(plan)
    values = after(plan)
    for pod in tfvars["pods"]:
        _one(values, f'module.pod["{pod}"].aws_ec2_transit_gateway_route_table_association.core')
        _one(values, f'module.pod["{pod}"].aws_ec2_transit_gateway_route_table_propagation.workloads')
        vpn = values[f'module.pod["{pod}"].aws_vpn_connection.this[0]']
        assert vpn["type"] == "ipsec.1" and vpn["static_routes_only"] is False, "ECMP needs BGP"
    assert cfg.attr_targets(
        ("pod",), "aws_ec2_transit_gateway_route_table_association.core", "transit_gateway_route_table_id"
    ) == {RT_CORE}
    assert cfg.attr_targets(
        ("pod",),
        "aws_ec2_transit_gateway_route_table_propagation.workloads",
        "transit_gateway_route_table_id",
    ) == {RT_WORKLOADS}
    assert cfg.attr_targets(("pod",), "aws_vpn_connection.this", "transit_gateway_id") == {TGW}
    assert cfg.attr_targets(
        ("core_vpc",), "aws_ec2_transit_gateway_vpc_attachment.this", "transit_gateway_id"
    ) == {TGW}
    assert cfg.attr_targets(
        ("transit_gateway",),
        "aws_ec2_transit_gateway_route_table_association.core",
        "transit_gateway_route_table_id",
    ) == {RT_CORE}
    tgw = values[TGW]
    assert tgw["vpn_ecmp_support"] == "enable"
    assert tgw["default_route_table_association"] == "disable"
    assert tgw["default_route_table_propagation"] == "disable"


def test_bridge_default_goes_to_the_fw_and_core_internal_to_the_tgw(planned) -> None:
    """5. Bridge 0.0.0.0/0 -> the pod's fw bridge ENI; core internal: workload supernet (and pinned
    CIDRs outside it) -> TGW; core public 0.0.0.0/0 -> IGW."""
    tfvars, plan = planned
    cfg = Config(plan)
    values = after(plan)
    for pod, p in tfvars["pods"].items():
        route = _one(values, f'module.pod["{pod}"].aws_route.bridge_default')
        assert route["destination_cidr_block"] == "0.0.0.0/0"
        eni = values[f'module.pod["{pod}"].aws_network_interface.this["fw-bridge"]']
        fw_ip = str(ipaddress.ip_network(p["bridge_cidr"])[4])
        assert fw_ip in (eni.get("private_ip_list") or eni.get("private_ips") or []), eni
        assert eni["source_dest_check"] is False
        bridge = values[f'module.core_vpc.aws_subnet.bridge["{pod}"]']
        assert bridge["cidr_block"] == p["bridge_cidr"] and bridge["availability_zone"] == p["az"]
    assert cfg.attr_targets(("pod",), "aws_route.bridge_default", "network_interface_id") == {
        'module.pod.aws_network_interface.this["fw-bridge"]'
    }
    assert cfg.attr_targets(("pod",), "aws_route.bridge_default", "route_table_id") == {
        "module.core_vpc.aws_route_table.bridge"
    }

    core_routes = {a: v for a, v in of_type(plan, "aws_route", "module.core_vpc.").items()}
    internal = [
        a for a, v in core_routes.items() if v["destination_cidr_block"] == tfvars["workload_supernet"]
    ]
    assert len(internal) == 1, core_routes
    addr = internal[0].removeprefix("module.core_vpc.").split("[")[0]
    assert cfg.attr_targets(("core_vpc",), addr, "transit_gateway_id") == {TGW}
    assert cfg.attr_targets(("core_vpc",), addr, "route_table_id") == {
        "module.core_vpc.aws_route_table.internal"
    }

    supernet = ipaddress.ip_network(tfvars["workload_supernet"])
    outside = {
        k: w["cidr"]
        for k, w in tfvars["workloads"].items()
        if not ipaddress.ip_network(w["cidr"]).subnet_of(supernet)
    }
    assert outside, "examples/inventory.csv pins legacy-ledger outside the supernet"
    pinned = of_type(plan, "aws_route", "module.core_vpc.aws_route.internal_extra")
    assert {v["destination_cidr_block"] for v in pinned.values()} == set(outside.values())
    assert sorted(set(outside.values())) == sorted(tfvars["outside_supernet_cidrs"])
    assert cfg.attr_targets(("core_vpc",), "aws_route.internal_extra", "transit_gateway_id") == {TGW}
    assert cfg.attr_targets(("core_vpc",), "aws_route.internal_extra", "route_table_id") == {
        "module.core_vpc.aws_route_table.internal"
    }


def test_asns_and_inside_cidrs_are_the_generators(planned) -> None:
    """6. ASNs and VPN inside CIDRs are exactly the generator's."""
    tfvars, plan = planned
    values = after(plan)
    asn = tfvars["asn"]
    assert values[TGW]["amazon_side_asn"] == asn["transit_gateway"]
    assert values["module.management.aws_ec2_transit_gateway.this"]["amazon_side_asn"] == asn["management"]
    for pod, p in tfvars["pods"].items():
        cgw = values[f'module.pod["{pod}"].aws_customer_gateway.this[0]']
        assert str(cgw["bgp_asn"]) == str(asn["pods"])
        vpn = values[f'module.pod["{pod}"].aws_vpn_connection.this[0]']
        assert [vpn["tunnel1_inside_cidr"], vpn["tunnel2_inside_cidr"]] == p["tunnel_inside_cidrs"]
    inside = [c for p in tfvars["pods"].values() for c in p["tunnel_inside_cidrs"]]
    assert len(set(inside)) == len(inside)


def test_second_account_through_ram(planned) -> None:
    """Workloads with an account_id: built with the assumed role in that account (moto's STS hands
    out credentials of the role's account), the TGW shared with it and the attachment accepted."""
    tfvars, plan = planned
    other = tfvars["ram_share_accounts"]
    shared = sorted(k for k, w in tfvars["workloads"].items() if w["account_id"])
    values = after(plan)
    for name in shared:
        idents = prior_data(
            plan, f'module.workload_shared["{name}"].module.flow_log.data.aws_caller_identity.current'
        )
        assert [v["account_id"] for v in idents.values()] == [tfvars["workloads"][name]["account_id"]]
        assert (
            f'module.transit_gateway.aws_ec2_transit_gateway_vpc_attachment_accepter.this["{name}"]' in values
        )
        att = values[f'module.workload_shared["{name}"].aws_ec2_transit_gateway_vpc_attachment.this']
        assert att.get("transit_gateway_default_route_table_association") is None
    for name in set(tfvars["workloads"]) - set(shared):
        idents = prior_data(
            plan, f'module.workload["{name}"].module.flow_log.data.aws_caller_identity.current'
        )
        assert [v["account_id"] for v in idents.values()] == [MOTO_ACCOUNT]
    principals = of_type(plan, "aws_ram_principal_association")
    assert sorted(v["principal"] for v in principals.values()) == other
    provider = plan["configuration"]["provider_config"]["aws.workload_account"]
    assert provider["alias"] == "workload_account"
    assert plan["output_changes"]["workload_account_id"]["after"] == other[0]


def test_workload_security_groups_follow_the_flows(planned) -> None:
    """Ingress from the generator; egress derived from the same flows (default deny both ways)."""
    tfvars, plan = planned
    ingress = of_type(plan, "aws_vpc_security_group_ingress_rule")
    egress = of_type(plan, "aws_vpc_security_group_egress_rule")
    for name, w in tfvars["workloads"].items():
        mod = f'module.{_workload_module(tfvars, name)}["{name}"].'
        got = sorted((v["cidr_ipv4"], v["ip_protocol"]) for a, v in ingress.items() if a.startswith(mod))
        want = sorted(
            (r["cidr"], "-1" if r["protocol"] == "any" else r["protocol"]) for r in w["ingress_rules"]
        )
        assert got == want, name
        flows_out = {
            (c, f["protocol"]) for f in tfvars["flows"] if f["source"] == name for c in f["destination_cidrs"]
        }
        got_out = {(v["cidr_ipv4"], v["ip_protocol"]) for a, v in egress.items() if a.startswith(mod)}
        assert got_out == {(c, "-1" if p == "any" else p) for c, p in flows_out}, name
        # Exactly the generator's egress rules, descriptions included (no HCL re-derives them).
        mine = [v for a, v in egress.items() if a.startswith(mod)]
        got_rules = sorted((v["cidr_ipv4"], v["ip_protocol"], v["description"]) for v in mine)
        want_rules = sorted(
            (r["cidr"], "-1" if r["protocol"] == "any" else r["protocol"], r["description"])
            for r in w["egress_rules"]
        )
        assert got_rules == want_rules, name
    web = [v for a, v in egress.items() if a.startswith('module.workload["web-frontend"].')]
    assert any(v["cidr_ipv4"] == "0.0.0.0/0" and v["from_port"] == 443 for v in web)


def test_fleet_alarm_takes_the_generators_required_pods(planned) -> None:
    tfvars, plan = planned
    alarms = of_type(plan, "aws_cloudwatch_metric_alarm", "module.observability")
    fleet = [v for a, v in alarms.items() if a.endswith("fleet_capacity[0]")]
    assert [v["threshold"] for v in fleet] == [tfvars["required_pods"]]


def test_no_secret_in_outputs(planned) -> None:
    _, plan = planned
    for name, change in plan["output_changes"].items():
        assert "psk" not in name.lower() and "secret" not in name.lower()
        assert not change.get("after_sensitive"), name


def _instances(plan: dict[str, Any], path: tuple[str, ...], address: str) -> list[str]:
    """Planned instances of the configuration resource `address` in module path `path`."""
    rtype, name = address.split(".")
    return [
        rc["address"]
        for rc in plan["resource_changes"]
        if rc["type"] == rtype
        and rc["name"] == name
        and re.sub(r"\[[^\]]*\]", "", rc.get("module_address", "")) == ".".join(f"module.{p}" for p in path)
    ]


def _one(values: dict[str, dict[str, Any]], address: str) -> dict[str, Any]:
    """The planned values of `address`, also when the module creates it with count (`address[0]`)."""
    found = [values[a] for a in (address, f"{address}[0]") if a in values]
    assert len(found) == 1, f"{address} is not planned exactly once"
    return found[0]


def _all_resources(cfg: Config, rtype: str) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(path: tuple[str, ...], mod: dict[str, Any]) -> None:
        found.extend((path, r["address"]) for r in mod.get("resources", []) if r["type"] == rtype)
        for call, body in mod.get("module_calls", {}).items():
            walk((*path, call), body["module"])

    walk((), cfg.root)
    return found
