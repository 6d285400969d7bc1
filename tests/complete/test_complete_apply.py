"""examples/complete applied to the sandbox (moto, or a real account with MICROSEG_REAL_AWS=1).

Order (one deployment for the whole module): apply -> boto3 facts of the packet path -> second plan
empty -> `microseg verify` passes -> two deliberately broken copies fail verify with the offending
path (then repaired) -> destroy leaves nothing.

Emulator differences (moto 5.2), each kept out of the modules and listed here with its reason:
- SECOND ACCOUNT: moto picks the ids of an organization's member accounts itself, so on moto the
  network account creates the organization, enables RAM sharing with it and creates one member
  account, and the inventory's other account (`account_id` of its workloads, `ram_share_accounts`)
  is replaced by that member's id. Everything else is the real path: the example assumes its
  `cross_account_role_name` role there through moto's STS, the RAM share and the shared TGW behave as
  on AWS (tests/moto_xacct.py, listed in motoserver.EMULATOR_FIXES), the network account accepts,
  associates and propagates the attachment. As on AWS, the shared workload's default route is refused
  until that acceptance (issue 9, cross-account ordering): the example must create it after the accepter.
- BGP: moto has no BGP, so the `workloads` table never learns the pods' 0.0.0.0/0 and propagations
  never materialise as routes; the facts are asserted on associations and propagations instead
  (on real AWS the routes are checked too).
- VPN tunnel options: moto does not return `Options.TunnelOptions`; the inside CIDRs are then read
  from the tofu state (what the provider sent) instead of from the API.
- AMI: moto has no public Debian parameter, so `ami_id` is moto's Amazon Linux AMI.
- TGW STATIC ROUTE TARGET: moto stores a static route's attachment as a single object where AWS has
  the list `TransitGatewayAttachments`, so SearchTransitGatewayRoutes (and CreateTransitGatewayRoute)
  return that list empty. The aws provider then reads the `workloads` return routes back as
  `transit_gateway_attachment_id = ""`, `blackhole = true`, and the second plan wants to replace them.
  On moto the return routes are asserted by destination, type and state (their target, the core
  attachment, is proven on the plan's configuration in test_complete_plan.py); a real account
  asserts the target too.
- TGW PROPAGATION RECORD: moto keeps one propagation record per attachment, not per (attachment, route
  table): enabling orders' propagation into `workloads` (broken copy 2) overwrites the record of its
  propagation into `core`, and disabling it again deletes that record, so destroying the `core`
  propagation later fails (HTTP 500) until the provider's timeout. On moto the repair re-enables the
  `core` propagation, which restores the record; AWS needs no such step.
- LAMBDA LOGGING CONFIG: moto 5.2.5 does not implement a function's LoggingConfig (GetFunction
  returns none), so every re-plan sets the provider's computed default (`log_format = "Text"`,
  `log_group = /aws/lambda/<name>`) again on the health-check functions.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from complete_support import EXAMPLE, build_lambda, generate, microseg_cli, moto_ami
from tfharness import REAL_AWS, REGION, REPO, Sandbox, TfRoot, moto_env

pytestmark = [pytest.mark.apply, pytest.mark.slow]
ROLE = "microseg-workload-deployer"  # examples/complete's default cross_account_role_name

# Second plan: address glob -> why the emulator (not the module) shows a change.
EMULATOR_DIFFS: dict[str, str] = (
    {}
    if REAL_AWS
    else {
        # fnmatch: `[` opens a character class, so the instance key is matched with a plain `*`.
        "module.transit_gateway.aws_ec2_transit_gateway_route.workloads_return*": (
            "TGW STATIC ROUTE TARGET (module docstring): moto returns no TransitGatewayAttachments for a"
            " static route, so the provider reads the core attachment back as '' / blackhole"
        ),
        "module.pod_health.aws_lambda_function.this*": (
            "LAMBDA LOGGING CONFIG (module docstring): moto keeps no LoggingConfig, so the provider plans"
            " its computed default (Text format, /aws/lambda/<name>) again"
        ),
    }
)


@dataclass
class Deployment:
    root: TfRoot
    sandbox: Sandbox
    tfvars: dict[str, Any]
    var_files: tuple[Path, ...]
    extra: dict[str, Any]
    out: dict[str, Any]
    destroyed: bool = False

    def client(self, service: str) -> Any:
        return self.sandbox.client(service)

    def client_in(self, account_id: str | None, service: str) -> Any:
        """A client of the workloads' account `account_id` (None: the network account), reached as the
        example reaches it: through its `cross_account_role_name` role (moto: moto_env's assumed role)."""
        if account_id is None or account_id == self.out.get("network_account_id"):
            return self.client(service)
        if not self.sandbox.real:
            return Sandbox(moto_env(self.sandbox.env["AWS_ENDPOINT_URL"], account_id), real=False).client(
                service
            )
        role = f"arn:aws:iam::{account_id}:role/{self.tfvars.get('cross_account_role_name', ROLE)}"
        creds = self.client("sts").assume_role(RoleArn=role, RoleSessionName="microseg-tests")["Credentials"]
        return boto3.client(
            service,
            region_name=self.sandbox.env.get("AWS_REGION", REGION),
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )


@pytest.fixture(scope="module")
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("complete-apply")
    if REAL_AWS:
        sandbox = Sandbox({"AWS_REGION": REGION}, real=True)
    else:
        server = request.getfixturevalue("moto_server")
        server.reset()
        sandbox = Sandbox(moto_env(server.endpoint), real=False)
    tfvars = generate(tmp / "gen")
    extra: dict[str, Any] = {"lambda_zip_path": str(build_lambda(tmp))}
    if not sandbox.real:
        extra["ami_id"] = moto_ami(sandbox.client)
        # SECOND ACCOUNT (module docstring): the other account becomes a member of the network
        # account's organization, with the id moto gives it.
        org = sandbox.client("organizations")
        org.create_organization(FeatureSet="ALL")
        sandbox.client("ram").enable_sharing_with_aws_organization()
        members = {}
        for acct in tfvars["ram_share_accounts"]:
            status = org.create_account(AccountName=f"workloads-{acct}", Email=f"{acct}@example.com")
            members[acct] = status["CreateAccountStatus"]["AccountId"]
        for w in tfvars["workloads"].values():
            w["account_id"] = members.get(w["account_id"], w["account_id"])
        tfvars["ram_share_accounts"] = sorted(members.values())
    var_file = tmp / "microseg.auto.tfvars.json"
    var_file.write_text(json.dumps(tfvars, indent=2, sort_keys=True))

    root = TfRoot(REPO / EXAMPLE, tmp / "root", sandbox.env)
    dep = Deployment(root, sandbox, tfvars, (var_file,), extra, {})
    try:
        root.apply(extra, var_files=dep.var_files)
        dep.out = root.output()
        yield dep
    finally:
        if not dep.destroyed:
            root.run(
                "destroy",
                "-no-color",
                "-input=false",
                "-auto-approve",
                *root._var_args(extra, dep.var_files),
                check=False,
            )


# --- helpers --------------------------------------------------------------------------------------


def _routes(ec2: Any, rt_id: str) -> list[dict[str, Any]]:
    return ec2.describe_route_tables(RouteTableIds=[rt_id])["RouteTables"][0]["Routes"]


def _route(ec2: Any, rt_id: str, cidr: str) -> dict[str, Any]:
    found = [r for r in _routes(ec2, rt_id) if r.get("DestinationCidrBlock") == cidr]
    assert len(found) == 1, f"{rt_id}: no single route to {cidr}: {_routes(ec2, rt_id)}"
    return found[0]


def _associations(ec2: Any, rt_id: str) -> set[str]:
    res = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rt_id)
    return {a["TransitGatewayAttachmentId"] for a in res["Associations"]}


def _propagations(ec2: Any, rt_id: str) -> set[str]:
    res = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rt_id)
    return {
        p["TransitGatewayAttachmentId"]
        for p in res["TransitGatewayRouteTablePropagations"]
        if p.get("State", "enabled") == "enabled"
    }


def _tgw_routes(ec2: Any, rt_id: str) -> list[dict[str, Any]]:
    return ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=rt_id, Filters=[{"Name": "type", "Values": ["static", "propagated"]}]
    )["Routes"]


def _verify(dep: Deployment) -> tuple[int, dict[str, Any], str]:
    cmd = [
        *microseg_cli(),
        "verify",
        "--region",
        dep.tfvars["region"],
        "--name",
        dep.tfvars["name"],
        "--json",
    ]
    if not dep.sandbox.real:
        cmd += ["--endpoint-url", dep.sandbox.env["AWS_ENDPOINT_URL"]]
    # boto3 reads an empty AWS_PROFILE as a profile named "": drop empty values instead.
    env = {**os.environ}
    for k, v in dep.sandbox.env.items():
        if v:
            env[k] = v
        else:
            env.pop(k, None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, env=env)
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        doc = {}
    return proc.returncode, doc, proc.stdout + proc.stderr


def _path_text(p: dict[str, Any]) -> str:
    return " => ".join(f"{h['at']}: {h['match']} -> {h['to']}" for h in p["hops"]) + f" = {p['reason']}"


# --- the deployed packet path ---------------------------------------------------------------------


def test_workload_route_tables_default_to_the_tgw(deployed: Deployment) -> None:
    tgw = deployed.out["transit_gateway_id"]
    for name, w in deployed.out["workloads"].items():
        ec2 = deployed.client_in(deployed.tfvars["workloads"][name]["account_id"], "ec2")
        default = _route(ec2, w["workload_route_table_id"], "0.0.0.0/0")
        assert default.get("TransitGatewayId") == tgw, (name, default)
        others = [
            r for r in _routes(ec2, w["workload_route_table_id"]) if r.get("GatewayId") not in (None, "local")
        ]
        assert not others, f"{name}: unexpected gateway routes {others}"
        vpc = ec2.describe_vpcs(VpcIds=[w["vpc_id"]])["Vpcs"][0]
        assert vpc["CidrBlock"] == deployed.tfvars["workloads"][name]["cidr"]
        igws = ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [w["vpc_id"]]}]
        )
        assert not igws["InternetGateways"], f"{name} has an internet gateway"


def test_tgw_and_asns_are_the_generators(deployed: Deployment) -> None:
    ec2 = deployed.client("ec2")
    asn = deployed.tfvars["asn"]
    tgw = ec2.describe_transit_gateways(TransitGatewayIds=[deployed.out["transit_gateway_id"]])[
        "TransitGateways"
    ][0]
    opts = tgw["Options"]
    assert int(opts["AmazonSideAsn"]) == asn["transit_gateway"]
    assert opts["VpnEcmpSupport"] == "enable"
    assert (
        opts["DefaultRouteTableAssociation"] == "disable"
        and opts["DefaultRouteTablePropagation"] == "disable"
    )
    mgmt = ec2.describe_transit_gateways(TransitGatewayIds=[deployed.out["management_transit_gateway_id"]])
    assert int(mgmt["TransitGateways"][0]["Options"]["AmazonSideAsn"]) == asn["management"]
    cgws = ec2.describe_customer_gateways(
        CustomerGatewayIds=[p["customer_gateway_id"] for p in deployed.out["pods"].values()]
    )
    assert {int(c["BgpAsn"]) for c in cgws["CustomerGateways"]} == {asn["pods"]}


def test_tgw_route_tables_wire_the_packet_path(deployed: Deployment) -> None:
    ec2 = deployed.client("ec2")
    rts = deployed.out["transit_gateway_route_table_ids"]
    workload_atts = {w["transit_gateway_attachment_id"] for w in deployed.out["workloads"].values()}
    vpn_atts = {p["transit_gateway_attachment_id"] for p in deployed.out["pods"].values()}
    core_att = deployed.out["core_transit_gateway_attachment_id"]
    assert len(vpn_atts) == len(deployed.tfvars["pods"]) and None not in vpn_atts

    assert _associations(ec2, rts["workloads"]) == workload_atts
    assert _associations(ec2, rts["core"]) == vpn_atts | {core_att}
    assert _propagations(ec2, rts["core"]) == workload_atts
    assert _propagations(ec2, rts["workloads"]) == vpn_atts, "only the pods' VPN attachments feed `workloads`"

    workload_cidrs = [ipaddress.ip_network(w["cidr"]) for w in deployed.tfvars["workloads"].values()]
    internal = {s["internal"] for s in deployed.tfvars["core"]["subnets"].values()}
    static: dict[str, set[str]] = {}
    for route in _tgw_routes(ec2, rts["workloads"]):
        dest = ipaddress.ip_network(route["DestinationCidrBlock"])
        hit = [str(c) for c in workload_cidrs if dest.prefixlen > 0 and dest.overlaps(c)]
        assert not hit, f"`workloads` has a route to workload CIDRs {hit}: {route}"
        atts = {a["TransitGatewayAttachmentId"] for a in route.get("TransitGatewayAttachments", [])}
        if route["Type"] == "static":
            assert route["State"] == "active", route
            static[route["DestinationCidrBlock"]] = atts
        else:
            assert atts <= vpn_atts, route
    # East-west return path: the fw SNAT addresses (core internal subnets) -> the core attachment, so
    # a workload's reply goes straight back to the very fw that owns the address, not via ECMP.
    assert set(static) == internal, static
    if deployed.sandbox.real:
        assert static == {c: {core_att} for c in internal}, static
    else:  # TGW STATIC ROUTE TARGET (module docstring): moto returns no attachment for static routes
        assert all(atts in (set(), {core_att}) for atts in static.values()), static
    if deployed.sandbox.real:  # BGP (module docstring): only a real account learns the pods' default
        defaults = [r for r in _tgw_routes(ec2, rts["workloads"]) if r["DestinationCidrBlock"] == "0.0.0.0/0"]
        assert defaults, "no pod advertises 0.0.0.0/0 into `workloads` (tunnels down or pods unhealthy)"


def test_vpn_connections_carry_the_generators_inside_cidrs(deployed: Deployment) -> None:
    ec2 = deployed.client("ec2")
    tgw = deployed.out["transit_gateway_id"]
    state = deployed.root.state()
    in_state = {
        r["address"]: r["values"]
        for m in _modules(state["values"]["root_module"])
        for r in m.get("resources", [])
        if r["type"] == "aws_vpn_connection"
    }
    for pod, p in deployed.out["pods"].items():
        vpn = ec2.describe_vpn_connections(VpnConnectionIds=[p["vpn_connection_id"]])["VpnConnections"][0]
        assert vpn["TransitGatewayId"] == tgw and vpn["State"] == "available"
        want = deployed.tfvars["pods"][pod]["tunnel_inside_cidrs"]
        tunnels = (vpn.get("Options") or {}).get("TunnelOptions") or []
        if tunnels:
            assert sorted(t["TunnelInsideCidr"] for t in tunnels) == sorted(want)
        else:  # VPN tunnel options (module docstring): moto does not return them
            v = in_state[f'module.pod["{pod}"].aws_vpn_connection.this[0]']
            assert [v["tunnel1_inside_cidr"], v["tunnel2_inside_cidr"]] == want


def test_core_routes(deployed: Deployment) -> None:
    """Bridge 0.0.0.0/0 -> the pod's fw bridge ENI; internal: workload CIDRs -> TGW; public -> IGW."""
    ec2 = deployed.client("ec2")
    tgw = deployed.out["transit_gateway_id"]
    for pod, p in deployed.out["pods"].items():
        default = _route(ec2, p["bridge_route_table_id"], "0.0.0.0/0")
        assert default.get("NetworkInterfaceId") == p["fw_bridge_network_interface_id"], (pod, default)
        eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[p["fw_bridge_network_interface_id"]])
        eni = eni["NetworkInterfaces"][0]
        bridge = deployed.tfvars["pods"][pod]["bridge_cidr"]
        assert eni["PrivateIpAddress"] == str(ipaddress.ip_network(bridge)[4])
        assert eni["SourceDestCheck"] is False
        assert eni.get("Attachment", {}).get("InstanceId") == p["fw_instance_id"]
    rts = deployed.out["core_route_table_ids"]
    supernet = ipaddress.ip_network(deployed.tfvars["workload_supernet"])
    assert _route(ec2, rts["internal"], str(supernet)).get("TransitGatewayId") == tgw
    for w in deployed.tfvars["workloads"].values():
        if not ipaddress.ip_network(w["cidr"]).subnet_of(supernet):
            assert _route(ec2, rts["internal"], w["cidr"]).get("TransitGatewayId") == tgw
    assert _route(ec2, rts["public"], "0.0.0.0/0").get("GatewayId") == deployed.out["internet_gateway_id"]


def test_pods_run_with_imdsv2(deployed: Deployment) -> None:
    ec2 = deployed.client("ec2")
    ids = [i for p in deployed.out["pods"].values() for i in (p["vpn_instance_id"], p["fw_instance_id"])]
    found = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    assert len(found) == 2 * len(deployed.tfvars["pods"])
    for inst in found:
        assert inst["State"]["Name"] in ("pending", "running")
        assert inst["MetadataOptions"]["HttpTokens"] == "required"


def test_ram_share(deployed: Deployment) -> None:
    """The TGW is shared with the other account, which sees it and attached to it; the network account
    accepted that attachment and wired it like its own workloads."""
    ram = deployed.client("ram")
    arn = deployed.out["ram_resource_share_arn"]
    accounts = deployed.tfvars["ram_share_accounts"]
    assert arn and accounts
    principals = ram.list_principals(resourceOwner="SELF", resourceShareArns=[arn])["principals"]
    assert sorted(p["id"] for p in principals) == accounts
    resources = ram.list_resources(resourceOwner="SELF", resourceShareArns=[arn])["resources"]
    tgw = deployed.out["transit_gateway_id"]
    assert [r["arn"].rsplit("/", 1)[-1] for r in resources] == [tgw]
    # allow_external_principals = false: the accounts are the organization's, associated without invitations.
    assocs = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[arn])
    assert {(a["associatedEntity"], a["status"]) for a in assocs["resourceShareAssociations"]} == {
        (a, "ASSOCIATED") for a in accounts
    }

    owner = deployed.out["network_account_id"]
    rts = deployed.out["transit_gateway_route_table_ids"]
    ec2 = deployed.client("ec2")
    for account in accounts:
        theirs = deployed.client_in(account, "ec2")
        seen = theirs.describe_transit_gateways(TransitGatewayIds=[tgw])["TransitGateways"]
        assert [(g["OwnerId"], g["State"]) for g in seen] == [(owner, "available")]
        names = [k for k, w in deployed.tfvars["workloads"].items() if w["account_id"] == account]
        assert names
        for name in names:
            w = deployed.out["workloads"][name]
            att = w["transit_gateway_attachment_id"]
            mine = ec2.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[att])
            assert [
                (a["ResourceOwnerId"], a["TransitGatewayOwnerId"], a["ResourceId"], a["State"])
                for a in mine["TransitGatewayAttachments"]
            ] == [(account, owner, w["vpc_id"], "available")], name
            assert att in _associations(ec2, rts["workloads"]) and att in _propagations(ec2, rts["core"])
            vpc = theirs.describe_vpcs(VpcIds=[w["vpc_id"]])["Vpcs"][0]
            assert vpc["OwnerId"] == account


def test_second_plan_is_empty(deployed: Deployment) -> None:
    allowed = deployed.root.assert_no_changes(deployed.extra, deployed.var_files, EMULATOR_DIFFS)
    print("\n".join(allowed) or "second plan: no changes")


# --- microseg verify --------------------------------------------------------------------------------


def test_verify_passes_on_the_deployed_network(deployed: Deployment) -> None:
    rc, doc, text = _verify(deployed)
    assert rc == 0, text
    assert doc["ok"] is True and doc["counts"]["bypass"] == 0
    assert sorted(doc["workloads"]) == sorted(deployed.tfvars["workloads"]), doc["workloads"]


def test_verify_catches_a_workload_with_its_own_internet_gateway(deployed: Deployment) -> None:
    """Broken copy 1: payments gets an IGW and 0.0.0.0/0 -> IGW (internet without a pod)."""
    ec2 = deployed.client("ec2")
    w = deployed.out["workloads"]["payments"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=w["vpc_id"])
    ec2.replace_route(
        RouteTableId=w["workload_route_table_id"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw
    )
    try:
        rc, doc, text = _verify(deployed)
        assert rc == 1, text
        bypasses = [_path_text(p) for p in doc["bypasses"] if "payments" in p["source"]]
        assert bypasses and any(igw in b for b in bypasses), text
        print("offending path:", bypasses[0])
    finally:
        ec2.replace_route(
            RouteTableId=w["workload_route_table_id"],
            DestinationCidrBlock="0.0.0.0/0",
            TransitGatewayId=deployed.out["transit_gateway_id"],
        )
        ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=w["vpc_id"])
        ec2.delete_internet_gateway(InternetGatewayId=igw)
    assert _verify(deployed)[0] == 0, "repaired network must verify again"


def test_verify_catches_a_workload_propagated_into_workloads(deployed: Deployment) -> None:
    """Broken copy 2: orders' attachment propagates into `workloads` (every workload reaches it directly)."""
    ec2 = deployed.client("ec2")
    rt = deployed.out["transit_gateway_route_table_ids"]["workloads"]
    att = deployed.out["workloads"]["orders"]["transit_gateway_attachment_id"]
    ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=rt, TransitGatewayAttachmentId=att
    )
    try:
        rc, doc, text = _verify(deployed)
        assert rc == 1, text
        into_orders = [
            _path_text(p)
            for p in doc["bypasses"]
            if "orders" in p["destination"] and "orders" not in p["source"]
        ]
        assert into_orders and any(att in b for b in into_orders), text
        print("offending path:", into_orders[0])
    finally:
        ec2.disable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=rt, TransitGatewayAttachmentId=att
        )
        if not deployed.sandbox.real:
            # TGW PROPAGATION RECORD (module docstring): give orders' `core` propagation its record back.
            ec2.enable_transit_gateway_route_table_propagation(
                TransitGatewayRouteTableId=deployed.out["transit_gateway_route_table_ids"]["core"],
                TransitGatewayAttachmentId=att,
            )
    assert _verify(deployed)[0] == 0, "repaired network must verify again"


# --- destroy ----------------------------------------------------------------------------------------


def test_destroy_leaves_nothing(deployed: Deployment) -> None:
    out = deployed.out
    deployed.root.destroy(deployed.extra, deployed.var_files)
    deployed.destroyed = True
    ec2 = deployed.client("ec2")
    vpc_ids = [w["vpc_id"] for w in out["workloads"].values()] + [out["core_vpc_id"]]
    left = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])["Vpcs"]
    for account in deployed.tfvars["ram_share_accounts"]:
        theirs = deployed.client_in(account, "ec2")
        left += theirs.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])["Vpcs"]
        atts = theirs.describe_transit_gateway_vpc_attachments(
            Filters=[{"Name": "vpc-id", "Values": vpc_ids}]
        )["TransitGatewayVpcAttachments"]
        assert all(a["State"] in ("deleting", "deleted") for a in atts), atts
    assert not left, f"VPCs left: {[v['VpcId'] for v in left]}"
    for tgw_id in (out["transit_gateway_id"], out["management_transit_gateway_id"]):
        tgws = ec2.describe_transit_gateways(Filters=[{"Name": "transit-gateway-id", "Values": [tgw_id]}])
        assert all(t["State"] in ("deleting", "deleted") for t in tgws["TransitGateways"]), tgws
    ids = [i for p in out["pods"].values() for i in (p["vpn_instance_id"], p["fw_instance_id"])]
    ids.append(out["management_nat_instance_id"])
    insts = [
        i
        for r in ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": ids}])["Reservations"]
        for i in r["Instances"]
    ]
    assert all(i["State"]["Name"] in ("shutting-down", "terminated") for i in insts), insts
    vpns = ec2.describe_vpn_connections(
        VpnConnectionIds=[p["vpn_connection_id"] for p in out["pods"].values()]
    )
    assert all(v["State"] in ("deleting", "deleted") for v in vpns["VpnConnections"]), vpns
    cgws = ec2.describe_customer_gateways(
        Filters=[
            {
                "Name": "customer-gateway-id",
                "Values": [p["customer_gateway_id"] for p in out["pods"].values()],
            }
        ]
    )
    assert all(c["State"] in ("deleting", "deleted") for c in cgws["CustomerGateways"]), cgws


def _modules(mod: dict[str, Any]) -> list[dict[str, Any]]:
    return [mod, *(m for child in mod.get("child_modules", []) for m in _modules(child))]
