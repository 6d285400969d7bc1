"""Build a hub-and-spoke microseg network directly with boto3 (against moto), tagged as docs/tags.md says.

The shape follows DESIGN.md "The packet path": workload route tables send 0.0.0.0/0 to the TGW;
workload attachments are associated with `workloads` and propagated into `core`; each pod's VPN
attachment is associated with `core` and propagated into `workloads`; the core VPC attachment is
associated with `core`; bridge subnets send 0.0.0.0/0 to their pod's fw bridge ENI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAME = "microseg"
REGION = "us-east-1"
AZS = ("us-east-1a", "us-east-1b")
WORKLOADS = {"payments": "10.64.0.0/20", "orders": "10.64.16.0/20", "ledger": "10.64.32.0/20"}
CORE_CIDR = "10.0.0.0/20"
SUPERNET = "10.64.0.0/10"


def tags(**kv: str) -> list[dict[str, str]]:
    return [{"Key": k.replace("__", ":"), "Value": v} for k, v in kv.items()]


def spec(resource: str, **kv: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource, "Tags": tags(**kv)}]


@dataclass
class Workload:
    name: str
    vpc: str
    route_table: str
    attachment_route_table: str
    subnets: list[str]
    attachment: str


@dataclass
class Pod:
    name: str
    vpn_instance: str
    fw_instance: str
    fw_bridge_eni: str
    vpn_connection: str
    attachment: str
    bridge_route_table: str


@dataclass
class Net:
    ec2: Any
    tgw: str
    rt_workloads: str
    rt_core: str
    core_vpc: str
    core_attachment: str
    core_tgw_route_table: str
    core_internal_route_table: str
    igw: str
    workloads: dict[str, Workload] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)


# One of the AMIs moto ships (valid even with MOTO_ENABLE_AMI_VALIDATION); listing them all takes seconds.
AMI = "ami-03cf127a"


def build(ec2: Any, pods: int = 2, tag_pod_vpn: tuple[str, ...] = ("pod-01",)) -> Net:
    """A correct network. Pods named in `tag_pod_vpn` carry microseg:pod on their VPN connection; the
    others are recognised only by their customer gateway IP = the pod vpn EIP (both ways are in the contract).
    """
    ami = AMI
    tgw = ec2.create_transit_gateway(
        Description="microseg",
        Options={
            "AmazonSideAsn": 64512,
            "VpnEcmpSupport": "enable",
            "DefaultRouteTableAssociation": "disable",
            "DefaultRouteTablePropagation": "disable",
        },
        TagSpecifications=spec("transit-gateway", Name=NAME),
    )["TransitGateway"]["TransitGatewayId"]
    rt_workloads = ec2.create_transit_gateway_route_table(
        TransitGatewayId=tgw, TagSpecifications=spec("transit-gateway-route-table", Name=f"{NAME}-workloads")
    )["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
    rt_core = ec2.create_transit_gateway_route_table(
        TransitGatewayId=tgw, TagSpecifications=spec("transit-gateway-route-table", Name=f"{NAME}-core")
    )["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]

    # --- core VPC ---------------------------------------------------------------------------
    core_tags = {"Name": f"{NAME}-core", "microseg__network": NAME, "microseg__role": "core"}
    core = ec2.create_vpc(CidrBlock=CORE_CIDR, TagSpecifications=spec("vpc", **core_tags))["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=core)
    public = ec2.create_subnet(VpcId=core, CidrBlock="10.0.0.0/24", AvailabilityZone=AZS[0])["Subnet"][
        "SubnetId"
    ]
    internal = ec2.create_subnet(VpcId=core, CidrBlock="10.0.3.0/24", AvailabilityZone=AZS[0])["Subnet"][
        "SubnetId"
    ]
    tgw_subnet = ec2.create_subnet(VpcId=core, CidrBlock="10.0.7.0/28", AvailabilityZone=AZS[0])["Subnet"][
        "SubnetId"
    ]
    rt_public = ec2.create_route_table(VpcId=core)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rt_public, SubnetId=public)
    core_att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=core, SubnetIds=[tgw_subnet]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=rt_core, TransitGatewayAttachmentId=core_att
    )
    rt_internal = ec2.create_route_table(VpcId=core)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_internal, DestinationCidrBlock=SUPERNET, TransitGatewayId=tgw)
    ec2.associate_route_table(RouteTableId=rt_internal, SubnetId=internal)
    # Only replies to the fw internal addresses arrive through the core attachment: local is enough.
    rt_tgw = ec2.create_route_table(VpcId=core)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rt_tgw, SubnetId=tgw_subnet)

    net = Net(ec2, tgw, rt_workloads, rt_core, core, core_att, rt_tgw, rt_internal, igw)

    # --- pods -------------------------------------------------------------------------------
    for i in range(1, pods + 1):
        pod = f"pod-{i:02d}"
        bridge = ec2.create_subnet(
            VpcId=core,
            CidrBlock=f"10.0.8.{(i - 1) * 16}/28",
            AvailabilityZone=AZS[0],
            TagSpecifications=spec("subnet", microseg__pod=pod),
        )["Subnet"]["SubnetId"]
        vpn = ec2.run_instances(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            InstanceType="c6in.large",
            SubnetId=public,
            TagSpecifications=spec(
                "instance", Name=f"{NAME}-{pod}-vpn", microseg__role="vpn", microseg__pod=pod
            ),
        )["Instances"][0]
        alloc = ec2.allocate_address(Domain="vpc")
        ec2.associate_address(AllocationId=alloc["AllocationId"], InstanceId=vpn["InstanceId"])
        fw = ec2.run_instances(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            InstanceType="c6in.large",
            SubnetId=internal,
            TagSpecifications=spec(
                "instance", Name=f"{NAME}-{pod}-fw", microseg__role="fw", microseg__pod=pod
            ),
        )["Instances"][0]["InstanceId"]
        # pod-01's fw bridge ENI names its role itself; the others carry only microseg:pod, as
        # modules/pod tags its ENIs, and get the role from the instance they are attached to.
        eni_tags = {"microseg__role": "fw", "microseg__pod": pod} if i == 1 else {"microseg__pod": pod}
        eni = ec2.create_network_interface(
            SubnetId=bridge,
            PrivateIpAddress=f"10.0.8.{(i - 1) * 16 + 4}",
            TagSpecifications=spec("network-interface", **eni_tags),
        )["NetworkInterface"]["NetworkInterfaceId"]
        ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=fw, DeviceIndex=1)
        rt_bridge = ec2.create_route_table(VpcId=core)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=rt_bridge, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=eni)
        ec2.associate_route_table(RouteTableId=rt_bridge, SubnetId=bridge)

        cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=alloc["PublicIp"], BgpAsn=65001)[
            "CustomerGateway"
        ]["CustomerGatewayId"]
        vpn_tags = (
            {"microseg__role": "vpn", "microseg__pod": pod}
            if pod in tag_pod_vpn
            else {"Name": f"{NAME}-{pod}"}
        )
        vpn_id = ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=cgw,
            TransitGatewayId=tgw,
            TagSpecifications=spec("vpn-connection", **vpn_tags),
        )["VpnConnection"]["VpnConnectionId"]
        att = vpn_attachment(ec2, vpn_id)
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=rt_core, TransitGatewayAttachmentId=att
        )
        ec2.enable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=rt_workloads, TransitGatewayAttachmentId=att
        )
        net.pods[pod] = Pod(pod, vpn["InstanceId"], fw, eni, vpn_id, att, rt_bridge)

    # --- workloads --------------------------------------------------------------------------
    for name, cidr in WORKLOADS.items():
        net.workloads[name] = add_workload(net, name, cidr)
    return net


def vpn_attachment(ec2: Any, vpn_id: str) -> str:
    atts = ec2.describe_transit_gateway_attachments(Filters=[{"Name": "resource-id", "Values": [vpn_id]}])[
        "TransitGatewayAttachments"
    ]
    return atts[0]["TransitGatewayAttachmentId"]


def add_workload(net: Net, name: str, cidr: str, network: str = NAME, owner: Any = None) -> Workload:
    """`owner`: the EC2 client of another account the TGW is shared with (RAM); its VPC side is
    built there and the network account accepts the attachment before wiring it."""
    ec2 = owner or net.ec2
    vpc = ec2.create_vpc(
        CidrBlock=cidr,
        TagSpecifications=spec(
            "vpc",
            Name=f"{network}-{name}",
            microseg__network=network,
            microseg__role="workload",
            microseg__workload=name,
        ),
    )["Vpc"]["VpcId"]
    base = cidr.split("/")[0].rsplit(".", 2)[0]  # e.g. 10.64
    third = int(cidr.split(".")[2])
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    rt_att = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    subnets, att_subnets = [], []
    for n, az in enumerate(AZS):
        s = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base}.{third + 4 * n}.0/22", AvailabilityZone=az)[
            "Subnet"
        ]["SubnetId"]
        a = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base}.{third + 15}.{16 * n}/28", AvailabilityZone=az)[
            "Subnet"
        ]["SubnetId"]
        ec2.associate_route_table(RouteTableId=rt, SubnetId=s)
        ec2.associate_route_table(RouteTableId=rt_att, SubnetId=a)
        subnets.append(s)
        att_subnets.append(a)
    att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=net.tgw,
        VpcId=vpc,
        SubnetIds=att_subnets,
        Options={"DnsSupport": "enable"},
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    if owner is not None:
        net.ec2.accept_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=net.tgw)
    net.ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=net.rt_workloads, TransitGatewayAttachmentId=att
    )
    net.ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=net.rt_core, TransitGatewayAttachmentId=att
    )
    return Workload(name, vpc, rt, rt_att, subnets + att_subnets, att)
