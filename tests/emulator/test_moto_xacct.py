"""The moto server's cross-account corrections (tests/moto_xacct.py), asserted with boto3 as AWS answers.

Each test drives the real moto server started by the session fixture, as two or more accounts: the
network account (moto's default, static keys) and workload accounts reached through STS, exactly as
`tfharness.moto_env(endpoint, account_id=...)` gives them to tofu.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tfharness import MOTO_DEFAULT_ACCOUNT, Sandbox, moto_env

OUTSIDER = "210987654321"  # an account in no organization


def client_for(env: dict[str, str]) -> Callable[[str], Any]:
    return Sandbox(env, real=False).client


@pytest.fixture
def endpoint(aws_env: dict[str, str]) -> str:
    return aws_env["AWS_ENDPOINT_URL"]  # aws_env reset the server


@pytest.fixture
def network(endpoint: str) -> Callable[[str], Any]:
    return client_for(moto_env(endpoint))


def org_member(network: Callable[[str], Any], enable_sharing: bool = True) -> str:
    """An organization managed by the network account, with one member account; its id."""
    org = network("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="workloads", Email="w@example.com")["CreateAccountStatus"][
        "AccountId"
    ]
    if enable_sharing:
        network("ram").enable_sharing_with_aws_organization()
    return member


def tgw_and_share(
    network: Callable[[str], Any], auto_accept: bool = False, external: bool = False
) -> tuple[str, str, str]:
    ec2 = network("ec2")
    gw = ec2.create_transit_gateway(
        Options={
            "AutoAcceptSharedAttachments": "enable" if auto_accept else "disable",
            "DefaultRouteTableAssociation": "disable",
            "DefaultRouteTablePropagation": "disable",
        }
    )["TransitGateway"]
    share = network("ram").create_resource_share(
        name="net", allowExternalPrincipals=external, tags=[{"key": "Name", "value": "net"}]
    )["resourceShare"]["resourceShareArn"]
    return gw["TransitGatewayId"], gw["TransitGatewayArn"], share


def workload_vpc(ec2: Any) -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
    return vpc, subnet


def test_moto_env_runs_as_the_given_account(endpoint: str) -> None:
    assert client_for(moto_env(endpoint))("sts").get_caller_identity()["Account"] == MOTO_DEFAULT_ACCOUNT
    other = client_for(moto_env(endpoint, account_id="111122223333"))
    assert other("sts").get_caller_identity()["Account"] == "111122223333"
    # Accounts are separate: a VPC made as one account is not the other's.
    vpc = other("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]
    assert vpc["OwnerId"] == "111122223333"
    mine = client_for(moto_env(endpoint))("ec2").describe_vpcs()["Vpcs"]
    assert vpc["VpcId"] not in {v["VpcId"] for v in mine}


def test_org_share_is_associated_at_once_and_shows_the_tgw(
    network: Callable[[str], Any], endpoint: str
) -> None:
    member = org_member(network)
    tgw_id, tgw_arn, share = tgw_and_share(network)
    ram = network("ram")
    workload = client_for(moto_env(endpoint, account_id=member))
    assert not workload("ec2").describe_transit_gateways()["TransitGateways"], "visible before the share"

    ram.associate_resource_share(resourceShareArn=share, resourceArns=[tgw_arn])
    ram.associate_resource_share(resourceShareArn=share, principals=[member])

    principals = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share])
    assert [
        (a["associatedEntity"], a["status"], a["external"]) for a in principals["resourceShareAssociations"]
    ] == [(member, "ASSOCIATED", False)]
    assert not ram.get_resource_share_associations(
        associationType="PRINCIPAL", associationStatus="ASSOCIATING", resourceShareArns=[share]
    )["resourceShareAssociations"], "the status filter filters, it does not relabel"
    assert [
        p["id"] for p in ram.list_principals(resourceOwner="SELF", resourceShareArns=[share])["principals"]
    ] == [member]
    assert [
        r["arn"] for r in ram.list_resources(resourceOwner="SELF", resourceShareArns=[share])["resources"]
    ] == [tgw_arn]
    perms = ram.list_resource_share_permissions(resourceShareArn=share)["permissions"]
    assert [p["name"] for p in perms] == ["AWSRAMDefaultPermissionTransitGateway"]
    got = ram.get_resource_shares(resourceOwner="SELF", resourceShareArns=[share])["resourceShares"]
    assert [(s["resourceShareArn"], s["tags"]) for s in got] == [(share, [{"key": "Name", "value": "net"}])]
    assert not workload("ram").get_resource_share_invitations()["resourceShareInvitations"]

    seen = workload("ec2").describe_transit_gateways()["TransitGateways"]
    assert [(g["TransitGatewayId"], g["OwnerId"]) for g in seen] == [(tgw_id, MOTO_DEFAULT_ACCOUNT)]
    by_id = workload("ec2").describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"]
    assert [g["TransitGatewayId"] for g in by_id] == [tgw_id]
    # How a workload account finds the TGW without a copied id (the aws_ram_resource_share data source).
    shares = workload("ram").get_resource_shares(resourceOwner="OTHER-ACCOUNTS", name="net")["resourceShares"]
    assert [(s["resourceShareArn"], s["owningAccountId"]) for s in shares] == [(share, MOTO_DEFAULT_ACCOUNT)]
    theirs = workload("ram").list_resources(resourceOwner="OTHER-ACCOUNTS", resourceShareArns=[share])
    assert [r["arn"] for r in theirs["resources"]] == [tgw_arn]
    assert not workload("ram").get_resource_shares(resourceOwner="OTHER-ACCOUNTS", name="other")[
        "resourceShares"
    ]

    ram.disassociate_resource_share(resourceShareArn=share, principals=[member])
    status = ram.get_resource_share_associations(associationType="PRINCIPAL", principal=member)
    assert [a["status"] for a in status["resourceShareAssociations"]] == ["DISASSOCIATED"]
    assert not workload("ec2").describe_transit_gateways()["TransitGateways"], "still visible after removal"


def test_outside_the_organization_needs_an_invitation(network: Callable[[str], Any], endpoint: str) -> None:
    org_member(network)
    _tgw_id, tgw_arn, closed = tgw_and_share(network)
    ram = network("ram")
    with pytest.raises(ClientError) as refused:
        ram.associate_resource_share(resourceShareArn=closed, principals=[OUTSIDER])
    assert refused.value.response["Error"]["Code"] == "OperationNotPermittedException"

    open_share = ram.create_resource_share(name="open", allowExternalPrincipals=True, resourceArns=[tgw_arn])
    arn = open_share["resourceShare"]["resourceShareArn"]
    ram.associate_resource_share(resourceShareArn=arn, principals=[OUTSIDER])
    status = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[arn])
    assert [(a["status"], a["external"]) for a in status["resourceShareAssociations"]] == [
        ("ASSOCIATING", True)
    ]

    outsider = client_for(moto_env(endpoint, account_id=OUTSIDER))
    assert not outsider("ec2").describe_transit_gateways()["TransitGateways"], "visible before acceptance"
    invites = outsider("ram").get_resource_share_invitations()["resourceShareInvitations"]
    assert [(i["resourceShareArn"], i["status"], i["senderAccountId"]) for i in invites] == [
        (arn, "PENDING", MOTO_DEFAULT_ACCOUNT)
    ]
    outsider("ram").accept_resource_share_invitation(
        resourceShareInvitationArn=invites[0]["resourceShareInvitationArn"]
    )
    status = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[arn])
    assert [a["status"] for a in status["resourceShareAssociations"]] == ["ASSOCIATED"]
    assert len(outsider("ec2").describe_transit_gateways()["TransitGateways"]) == 1


def test_org_member_without_org_sharing_gets_an_invitation(network: Callable[[str], Any]) -> None:
    member = org_member(network, enable_sharing=False)
    _tgw_id, tgw_arn, share = tgw_and_share(network)
    ram = network("ram")
    ram.associate_resource_share(resourceShareArn=share, resourceArns=[tgw_arn], principals=[member])
    status = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share])
    assert [(a["status"], a["external"]) for a in status["resourceShareAssociations"]] == [
        ("ASSOCIATING", False)
    ]


def test_attachment_to_a_shared_tgw_is_accepted_by_the_owner(
    network: Callable[[str], Any], endpoint: str
) -> None:
    member = org_member(network)
    tgw_id, tgw_arn, share = tgw_and_share(network)
    network("ram").associate_resource_share(
        resourceShareArn=share, resourceArns=[tgw_arn], principals=[member]
    )
    owner, workload = network("ec2"), client_for(moto_env(endpoint, account_id=member))("ec2")
    vpc, subnet = workload_vpc(workload)

    created = workload.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw_id,
        VpcId=vpc,
        SubnetIds=[subnet],
        TagSpecifications=[
            {"ResourceType": "transit-gateway-attachment", "Tags": [{"Key": "Name", "Value": "mine"}]}
        ],
    )["TransitGatewayVpcAttachment"]
    att = created["TransitGatewayAttachmentId"]
    assert created["State"] == "pendingAcceptance" and created["VpcOwnerId"] == member

    # No route to the shared TGW before the owner accepts (AWS: InvalidTransitGatewayID.NotFound).
    table = workload.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]
    with pytest.raises(ClientError) as early:
        workload.create_route(
            RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw_id
        )
    assert early.value.response["Error"]["Code"] == "InvalidTransitGatewayID.NotFound"

    pending = owner.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[att])
    assert [a["State"] for a in pending["TransitGatewayVpcAttachments"]] == ["pendingAcceptance"]
    assert not pending["TransitGatewayVpcAttachments"][0].get("Tags"), "the creator's tags are its own"

    def owner_sees(**filters: list[str]) -> list[str]:
        found = owner.describe_transit_gateway_attachments(
            Filters=[{"Name": k.replace("_", "-"), "Values": v} for k, v in filters.items()]
        )["TransitGatewayAttachments"]
        return [a["TransitGatewayAttachmentId"] for a in found]

    assert owner_sees(resource_owner_id=[member], state=["pendingAcceptance"]) == [att]
    assert owner_sees(transit_gateway_owner_id=[MOTO_DEFAULT_ACCOUNT], resource_type=["vpc"]) == [att]
    assert owner_sees(state=["available"]) == [] and owner_sees(resource_owner_id=[OUTSIDER]) == []
    owner.create_tags(Resources=[att], Tags=[{"Key": "Name", "Value": "accepted-here"}])
    assert (
        owner_sees(**{"tag:Name": ["accepted-here"]}) == [att] and owner_sees(**{"tag:Name": ["mine"]}) == []
    )
    accepted = owner.accept_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    assert accepted["TransitGatewayVpcAttachment"]["State"] == "available"
    with pytest.raises(ClientError) as twice:
        owner.accept_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    assert twice.value.response["Error"]["Code"] == "IncorrectState"

    rt = owner.create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"]
    rt_id = rt["TransitGatewayRouteTableId"]
    owner.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=rt_id, TransitGatewayAttachmentId=att
    )
    owner.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=rt_id, TransitGatewayAttachmentId=att
    )
    assoc = owner.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rt_id)[
        "Associations"
    ]
    assert [(a["TransitGatewayAttachmentId"], a["ResourceId"]) for a in assoc] == [(att, vpc)]
    props = owner.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rt_id)
    assert [p["TransitGatewayAttachmentId"] for p in props["TransitGatewayRouteTablePropagations"]] == [att]

    seen = owner.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[att])[
        "TransitGatewayAttachments"
    ]
    assert [(a["ResourceOwnerId"], a["TransitGatewayOwnerId"], a["State"], a["Tags"]) for a in seen] == [
        (member, MOTO_DEFAULT_ACCOUNT, "available", [{"Key": "Name", "Value": "accepted-here"}])
    ]
    theirs = workload.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[att])[
        "TransitGatewayAttachments"
    ]
    assert [(a["State"], a["TransitGatewayOwnerId"], a["Tags"]) for a in theirs] == [
        ("available", MOTO_DEFAULT_ACCOUNT, [{"Key": "Name", "Value": "mine"}])
    ]

    # Accepted: the workload routes to the shared TGW.
    workload.create_route(
        RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw_id
    )
    routes = workload.describe_route_tables(RouteTableIds=[table["RouteTableId"]])["RouteTables"][0]["Routes"]
    assert [r.get("TransitGatewayId") for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"] == [
        tgw_id
    ]

    # The owner deletes it (the accepter's destroy): both sides see it deleted.
    owner.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    for ec2 in (owner, workload):
        gone = ec2.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[att])
        assert [a["State"] for a in gone["TransitGatewayVpcAttachments"]] == ["deleted"]
    with pytest.raises(ClientError) as again:
        workload.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    assert again.value.response["Error"]["Code"] == "InvalidTransitGatewayAttachmentID.NotFound"


def test_auto_accept_and_unshared_tgw(network: Callable[[str], Any], endpoint: str) -> None:
    member = org_member(network)
    tgw_id, tgw_arn, share = tgw_and_share(network, auto_accept=True)
    workload = client_for(moto_env(endpoint, account_id=member))("ec2")
    vpc, subnet = workload_vpc(workload)
    with pytest.raises(ClientError) as unshared:
        workload.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw_id, VpcId=vpc, SubnetIds=[subnet])
    assert unshared.value.response["Error"]["Code"] == "InvalidTransitGatewayID.NotFound"

    network("ram").associate_resource_share(
        resourceShareArn=share, resourceArns=[tgw_arn], principals=[member]
    )
    made = workload.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw_id, VpcId=vpc, SubnetIds=[subnet]
    )
    assert made["TransitGatewayVpcAttachment"]["State"] == "available"

    # The workload account deletes its attachment first: the owner's wiring of it goes with it (AWS).
    att = made["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    owner = network("ec2")
    rt_id = owner.create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"][
        "TransitGatewayRouteTableId"
    ]
    owner.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=rt_id, TransitGatewayAttachmentId=att
    )
    owner.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=rt_id, TransitGatewayAttachmentId=att
    )
    workload.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    assert not owner.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rt_id)[
        "Associations"
    ]
    props = owner.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rt_id)
    assert not props["TransitGatewayRouteTablePropagations"]
    gone = owner.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[att])
    assert [a["State"] for a in gone["TransitGatewayVpcAttachments"]] == ["deleted"]
