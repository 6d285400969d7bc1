"""The moto server's ENIs as the provider and the VM lab see them (tests/motoserver.py): a finished
detach reads as status "detached" for a while, then the ENI shows no attachment
(`ec2-detached-attachment-status`); every ENI of a subnet gets its own address, never one AWS
reserves (`ec2-eni-private-ip-unique`), as on AWS."""

from __future__ import annotations

import time

from motoserver import DETACHED_FOR
from tfharness import Sandbox


def test_a_finished_detach_reads_detached_then_gone(aws_env: dict[str, str]) -> None:
    ec2 = Sandbox(aws_env, real=False).client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    attachment = ec2.attach_network_interface(
        NetworkInterfaceId=eni, InstanceId=instance["InstanceId"], DeviceIndex=1
    )["AttachmentId"]

    def by_attachment() -> list[dict]:
        flt = [{"Name": "attachment.attachment-id", "Values": [attachment]}]
        return ec2.describe_network_interfaces(Filters=flt)["NetworkInterfaces"]

    assert [e["Attachment"]["Status"] for e in by_attachment()] == ["attached"]
    ec2.detach_network_interface(AttachmentId=attachment)
    found = by_attachment()
    assert [(e["NetworkInterfaceId"], e["Status"], e["Attachment"]["Status"]) for e in found] == [
        (eni, "available", "detached")
    ]
    time.sleep(DETACHED_FOR + 0.5)
    assert by_attachment() == []
    assert (
        "Attachment" not in ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    )


def test_every_eni_of_a_subnet_gets_its_own_usable_address(aws_env: dict[str, str]) -> None:
    ec2 = Sandbox(aws_env, real=False).client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    # A /28: 11 addresses AWS hands out (the first four and the last are reserved); all taken.
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.16/28")["Subnet"]["SubnetId"]
    got = [
        ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["PrivateIpAddress"]
        for _ in range(11)
    ]
    assert sorted(got, key=lambda a: int(a.rsplit(".", 1)[1])) == [f"10.9.0.{n}" for n in range(20, 31)]
