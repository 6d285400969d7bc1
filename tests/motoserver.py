"""Runs the real moto server with the fidelity fixes below, each one where moto differs from AWS.

The modules are written for AWS; where moto behaves differently in a way that would make a correct
module fail, the difference is corrected here, in the emulator, and listed in EMULATOR_FIXES (which
the test session prints). Nothing here changes what AWS would answer.
"""

from __future__ import annotations

import sys
import time
from typing import Any

EMULATOR_FIXES = {
    "transit-gateway-default-route-table": (
        "moto always creates a default TGW route table and reports it as AssociationDefaultRouteTableId/"
        "PropagationDefaultRouteTableId even when the TGW is created with DefaultRouteTableAssociation/"
        "Propagation=disable, then fails (HTTP 500, KeyError) when the aws provider disassociates a new "
        "attachment from it, and the provider retries for many minutes. AWS creates no default route table "
        "in that case, so the provider never calls Disassociate. The fix makes moto do what AWS does."
    ),
    "transit-gateway-deleted-attachment": (
        "moto forgets a deleted TGW VPC attachment at once, so DescribeTransitGatewayVpcAttachments by id "
        "returns nothing and the provider waits its full 10-minute timeout for state 'deleted'. AWS keeps "
        "returning the attachment with state 'deleted' for a while. The fix answers by-id lookups of "
        "deleted attachments with state 'deleted', as AWS does."
    ),
    "transit-gateway-attachment-tags": (
        "moto reads the tags of CreateTransitGatewayVpcAttachment from the 'transit-gateway-route-table' "
        "tag specification instead of 'transit-gateway-attachment', so the attachment is created untagged "
        "and every re-plan wants to add its tags. The fix applies the attachment's own tag specification."
    ),
    "cloudwatch-rpc-v2-cbor": (
        "the aws provider's CloudWatch client speaks only Smithy RPC v2 CBOR; moto implements CloudWatch "
        "over the json/query protocols and answers 404, so no alarm or dashboard can be created. tests/"
        "cloudwatch_cbor.py translates CBOR requests to moto's JSON protocol and the answers back, with "
        "botocore's own shape-aware codecs."
    ),
    "ec2-terminate-detaches-enis": (
        "moto keeps a terminated instance's ENIs attached (in-use); AWS detaches every ENI that is not "
        "deleted on termination and leaves it available, so a pre-created primary ENI can be deleted after "
        "its instance."
    ),
    "ec2-detach-secondary-eni": (
        "moto refuses DetachNetworkInterface whenever the instance has one ENI left, reporting it as device "
        "index 0, so parallel detaches of an instance's secondary ENIs fail; AWS refuses only the primary "
        "ENI (device index 0)."
    ),
    "ec2-detached-attachment-status": (
        "moto forgets an ENI's attachment the moment DetachNetworkInterface returns, so the provider's "
        "detach waiter (DescribeNetworkInterfaces by attachment.attachment-id until status 'detached') "
        "finds nothing and retries its 20 not-found checks, ~2.5 minutes per ENI attachment destroyed. "
        "AWS reports the finished detach as status 'detached' for a while; the fix does so for 5 seconds."
    ),
    "transit-gateway-attachment-filters": (
        "moto's DescribeTransitGatewayAttachments applies only the resource-id, resource-type and "
        "transit-gateway-id filters and silently ignores state, resource-owner-id, transit-gateway-owner-id "
        "and tag:<key>, returning every attachment (the core's and the pods' VPN attachments too). AWS "
        "applies all of them; stacks/network finds the workload accounts' attachments and stacks/workloads "
        "its accepted ones with them. The fix (tests/moto_xacct.py) applies those filters as AWS does, on "
        "DescribeTransitGatewayAttachments and DescribeTransitGatewayVpcAttachments."
    ),
    "transit-gateway-deleted-attachment-unwired": (
        "moto keeps a deleted TGW VPC attachment's route-table association and propagation, so the TGW "
        "owner's next plan still reads them and its delete fails (HTTP 500, KeyError on the gone "
        "attachment) until the provider's timeout. AWS removes an attachment's associations and "
        "propagations with it (a workload stack destroyed before the network stack). The fix "
        "(tests/moto_xacct.py) removes them in every account's backend of the region when the attachment "
        "is deleted."
    ),
    "ec2-monitor-instances": (
        "moto does not implement MonitorInstances/UnmonitorInstances (HTTP 500, NotImplementedError), which "
        "the provider calls to turn detailed monitoring on (every instance here has it on). The fix records "
        "the monitoring state on the instance and answers as AWS does."
    ),
    "ec2-eni-private-ip-unique": (
        "moto draws an ENI's private address at random from its whole subnet CIDR, without looking at the "
        "addresses in use or the five AWS reserves, so two ENIs of one subnet can get the same address "
        "(seen: two pods' public ENIs on 10.0.0.78, which the VM lab's SNAT map then refused). AWS hands "
        "out a free address between the subnet's fourth and its last. The fix draws from those, skipping "
        "the addresses of every ENI in a subnet of the same CIDR."
    ),
    "ram-shares-across-accounts": (
        "moto stores a RAM share's principals and resources but implements no AssociateResourceShare/"
        "DisassociateResourceShare, ListPrincipals, ListResources, ListResourceSharePermissions or "
        "invitations, echoes the requested status instead of the association's, ignores GetResourceShares' "
        "filters and tags, and never lets the principal see the share. tests/moto_xacct.py adds them as AWS "
        "RAM behaves: an account of the owner's organization with sharing enabled is associated at once, "
        "any other account through an invitation it accepts, none outside the organization when "
        "allowExternalPrincipals is false."
    ),
    "transit-gateway-shared-by-ram": (
        "moto looks a Transit Gateway up in the caller's account only and has no "
        "AcceptTransitGatewayVpcAttachment, so an account the TGW is shared with can neither see it, route "
        "to it nor attach to it. tests/moto_xacct.py makes a RAM-shared TGW visible to the principal "
        "(OwnerId = the owner), creates its VPC attachment in pendingAcceptance (unless "
        "AutoAcceptSharedAttachments), shows it to the owner with the owner's own tags and the right "
        "ResourceOwnerId/TransitGatewayOwnerId, and lets the owner accept, associate, propagate and "
        "delete it."
    ),
    "vpn-tunnel-endpoints": (
        "moto hands every VPN connection one fixed customer gateway configuration: both tunnels of every "
        "connection end at 52.2.144.13, share one pre-shared key and ignore the requested inside CIDRs, so "
        "an IPsec peer built from the module's values cannot tell the tunnels apart. AWS gives each tunnel "
        "its own outside address and generated PSK, inside addresses from its TunnelInsideCidr (AWS .1, "
        "customer gateway .2), the customer gateway's address and ASNs. The fix renders that per connection."
    ),
    "vpn-tunnel-bandwidth": (
        "moto ignores CreateVpnConnection's Options.TunnelBandwidth and DescribeVpnConnections returns no "
        "Options at all, so the aws provider reads tunnel_bandwidth back empty and the next plan replaces a "
        "connection created with large (5 Gbps) tunnels. AWS stores the setting and returns it in "
        "Options.TunnelBandwidth (standard when none was asked for). The fix stores and returns it."
    ),
    "elastic-ip-public-range": (
        "moto allocates Elastic IPs from 127.0.0.0/8 (loopback: no packet can carry it between hosts); AWS "
        "hands out public addresses. The fix allocates unique addresses from a public range (54.214.0.0/16, "
        "moto's own range for public IPs), kept apart from the tunnel endpoints (52.2.0.0/16)."
    ),
}


class _NoRouteTable:
    """Stands where moto expects the default route table when AWS would have none (falsy)."""

    def __init__(self, table_id: str) -> None:
        self.id = table_id

    def __bool__(self) -> bool:
        return False


def _patch_transit_gateway() -> None:
    from moto.ec2.models import transit_gateway as tgw
    from moto.ec2.models import transit_gateway_attachments as att
    from moto.ec2.models import transit_gateway_route_tables as rtb

    inert: set[str] = set()  # default route tables AWS would not have created
    tgw_init = tgw.TransitGateway.__init__

    def tgw_init_fixed(
        self: Any, backend: Any, description: str | None, options: dict[str, str] | None = None
    ) -> None:
        tgw_init(self, backend, description, options)
        assoc = self.options.get("DefaultRouteTableAssociation") == "disable"
        prop = self.options.get("DefaultRouteTablePropagation") == "disable"
        if assoc:
            self.options.pop("AssociationDefaultRouteTableId", None)
            inert.add(self.default_route_table.id)
            self.default_route_table = _NoRouteTable(self.default_route_table.id)
        if prop:
            self.options.pop("PropagationDefaultRouteTableId", None)
        if assoc and prop:
            backend.transit_gateways_route_tables.pop(self.default_route_table.id, None)

    set_assoc = rtb.TransitGatewayRouteTableBackend.set_route_table_association

    def set_assoc_fixed(
        self: Any, transit_gateway_attachment_id: str, transit_gateway_route_table_id: str
    ) -> None:
        if transit_gateway_route_table_id not in inert:
            set_assoc(self, transit_gateway_attachment_id, transit_gateway_route_table_id)

    tgw.TransitGateway.__init__ = tgw_init_fixed  # type: ignore[method-assign]
    rtb.TransitGatewayRouteTableBackend.set_route_table_association = set_assoc_fixed  # type: ignore[method-assign]
    assert att.TransitGatewayAttachment  # the attachment reads transit_gateway.default_route_table


def _patch_deleted_attachments() -> None:
    from moto.ec2.models import transit_gateway_attachments as att

    backend = att.TransitGatewayAttachmentBackend
    deleted: dict[str, Any] = {}
    delete = backend.delete_transit_gateway_vpc_attachment
    describe = backend.describe_transit_gateway_vpc_attachments

    def delete_fixed(self: Any, transit_gateway_attachment_id: str) -> Any:
        attachment = delete(self, transit_gateway_attachment_id)
        deleted[attachment.id] = attachment
        return attachment

    def describe_fixed(
        self: Any, transit_gateways_attachment_ids: list[str] | None = None, filters: Any = None
    ) -> Any:
        found = describe(self, transit_gateways_attachment_ids, filters)
        if transit_gateways_attachment_ids and not filters:
            found += [deleted[i] for i in transit_gateways_attachment_ids if i in deleted]
        return found

    backend.delete_transit_gateway_vpc_attachment = delete_fixed  # type: ignore[method-assign]
    backend.describe_transit_gateway_vpc_attachments = describe_fixed  # type: ignore[method-assign]


def _patch_attachment_tags() -> None:
    from moto.ec2.responses import transit_gateway_attachments as responses

    create = responses.TransitGatewayAttachment.create_transit_gateway_vpc_attachment

    def create_fixed(self: Any) -> Any:
        result = create(self)
        tags = self._parse_tag_specification().get("transit-gateway-attachment", {})
        result.result["TransitGatewayVpcAttachment"].add_tags(tags)
        return result

    responses.TransitGatewayAttachment.create_transit_gateway_vpc_attachment = create_fixed  # type: ignore[method-assign]


DETACHED_FOR = 5.0  # seconds a finished ENI detach stays visible as "detached" (AWS: a while)


def _patch_enis() -> None:
    from moto.ec2.models import elastic_network_interfaces as enis
    from moto.ec2.models.instances import Instance

    terminate = Instance.terminate

    def terminate_fixed(self: Any, *args: Any, **kwargs: Any) -> Any:
        kept = [nic for nic in self.nics.values() if not nic.delete_on_termination]
        state = terminate(self, *args, **kwargs)
        for nic in kept:
            if nic.instance is self:
                # Free the ENI but keep it in the instance's map: moto describes a terminated
                # instance from its device-0 ENI.
                nic.instance = nic.attachment_id = nic.attach_time = nic.device_index = None
                nic.status = "available"
        return state

    detach = enis.NetworkInterfaceBackend.detach_network_interface

    def detach_fixed(self: Any, attachment_id: str) -> None:
        for eni in self.enis.values():
            if eni.attachment_id == attachment_id and eni.instance and eni.device_index not in (0, None):
                eni.instance.detach_eni(eni)
                return
        detach(self, attachment_id)

    # A finished detach stays visible for DETACHED_FOR seconds: its attachment, status "detached".
    detach_eni = Instance.detach_eni

    def detach_eni_fixed(self: Any, eni: Any) -> None:
        gone = enis.Attachment(eni) if eni.instance is not None else None
        detach_eni(self, eni)
        if gone is not None:
            gone.status = "detached"
            eni.detached = (gone, time.monotonic())

    def recently_detached(eni: Any) -> Any:
        gone, at = getattr(eni, "detached", (None, 0.0))
        return gone if gone is not None and time.monotonic() - at < DETACHED_FOR else None

    attachment = enis.NetworkInterface.attachment

    def attachment_fixed(self: Any) -> Any:
        return attachment.fget(self) or recently_detached(self)

    get_filter_value = enis.NetworkInterface.get_filter_value

    def get_filter_value_fixed(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "attachment.attachment-id" and self.attachment_id is None:
            gone = recently_detached(self)
            return gone.attachment_id if gone is not None else None
        return get_filter_value(self, filter_name, method_name)

    Instance.terminate = terminate_fixed  # type: ignore[method-assign]
    Instance.detach_eni = detach_eni_fixed  # type: ignore[method-assign]
    enis.NetworkInterface.attachment = property(attachment_fixed)  # type: ignore[assignment,method-assign]
    enis.NetworkInterface.get_filter_value = get_filter_value_fixed  # type: ignore[method-assign]
    enis.NetworkInterfaceBackend.detach_network_interface = detach_fixed  # type: ignore[method-assign]


def _patch_cloudwatch_cbor() -> None:
    import cloudwatch_cbor
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    call = DomainDispatcherApplication.__call__

    def call_fixed(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith(cloudwatch_cbor.PREFIX):
            if not hasattr(self, "_cw_cbor"):
                self._cw_cbor = cloudwatch_cbor.wrap(lambda e, s: call(self, e, s))
            return self._cw_cbor(environ, start_response)
        return call(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call_fixed  # type: ignore[method-assign]


def _patch_monitoring() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.responses import monitoring

    def answer(self: Any, state: str) -> ActionResult:
        self.error_on_dryrun()
        result = []
        for instance_id in self._get_param("InstanceIds", []):
            instance = self.ec2_backend.get_instance(instance_id)
            instance.monitoring_state = state
            result.append({"InstanceId": instance_id, "Monitoring": {"State": state}})
        return ActionResult({"InstanceMonitorings": result})

    monitoring.Monitoring.monitor_instances = lambda self: answer(self, "enabled")  # type: ignore[method-assign]
    monitoring.Monitoring.unmonitor_instances = lambda self: answer(self, "disabled")  # type: ignore[method-assign]


def _unique_address(prefix: str, taken: set[str]) -> str:
    import random

    while True:
        addr = f"{prefix}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if addr not in taken:
            taken.add(addr)
            return addr


def _patch_vpn_tunnel_endpoints() -> None:
    import ipaddress
    import re
    import secrets
    import string

    from moto.ec2.models import vpn_connections as vpn
    from moto.ec2.responses import vpn_connections as responses

    taken: set[str] = set()
    create = responses.VPNConnections.create_vpn_connection

    def create_fixed(self: Any) -> Any:
        result = create(self)
        conn = result.result["VpnConnection"]
        options = self._get_param("Options", {}) or {}
        conn.requested_tunnels = list(options.get("TunnelOptions") or [])
        return result

    def tunnel_xml(conn: Any, i: int) -> str:
        alphabet = string.ascii_letters + string.digits + "._"
        if not hasattr(conn, "lab_tunnels"):
            conn.lab_tunnels = [
                (_unique_address("52.2", taken), "".join(secrets.choice(alphabet) for _ in range(32)))
                for _ in range(2)
            ]
        outside, generated = conn.lab_tunnels[i]
        req = (getattr(conn, "requested_tunnels", None) or [{}, {}])[i] if i < 2 else {}
        psk = req.get("PreSharedKey") or generated
        inside = ipaddress.ip_network(req.get("TunnelInsideCidr") or f"169.254.{44 + i}.40/30")
        cgw = conn.ec2_backend.get_customer_gateway(conn.customer_gateway_id)
        xml = vpn._IPSEC_TUNNEL.replace("12.1.2.3", cgw.ip_address).replace("52.2.144.13", outside)
        xml = xml.replace("169.254.44.42", str(inside[2])).replace("169.254.44.41", str(inside[1]))
        xml = re.sub(r"<asn>65000</asn>", f"<asn>{cgw.bgp_asn}</asn>", xml)
        return xml.replace("Iw2IAN9XUsQeYUrkMGP3kP59ugFDkfHg", psk)

    def configuration(self: Any) -> str:
        head, _, _ = vpn._CUSTOMER_GATEWAY_CONFIGURATION.partition(vpn._IPSEC_TUNNEL)
        text = head.format(
            vpn_connection_id=self.id,
            customer_gateway_id=self.customer_gateway_id,
            vpn_gateway_id=self.vpn_gateway_id or "",
            vpn_connection_type=self.type,
        )
        return text + tunnel_xml(self, 0) + "\n" + tunnel_xml(self, 1) + "\n        </vpn_connection>\n"

    responses.VPNConnections.create_vpn_connection = create_fixed  # type: ignore[method-assign]
    vpn.VPNConnection.customer_gateway_configuration = property(configuration)  # type: ignore[assignment]


def _patch_vpn_tunnel_bandwidth() -> None:
    from moto.ec2.responses import vpn_connections as responses

    create = responses.VPNConnections.create_vpn_connection

    def create_fixed(self: Any) -> Any:
        result = create(self)
        options = self._get_param("Options", {}) or {}
        # moto keeps no Options at all; the provider reads tunnel_bandwidth from Options.TunnelBandwidth.
        result.result["VpnConnection"].options = {
            "TunnelBandwidth": options.get("TunnelBandwidth") or "standard"
        }
        return result

    responses.VPNConnections.create_vpn_connection = create_fixed  # type: ignore[method-assign]


def _patch_elastic_ip_range() -> None:
    from moto.ec2.models import elastic_ip_addresses as eips

    taken: set[str] = set()
    eips.random_ip = lambda: _unique_address("54.214", taken)  # type: ignore[attr-defined]


def _patch_eni_private_ips() -> None:
    import ipaddress
    import random

    from moto.ec2.models import ec2_backends
    from moto.ec2.models import elastic_network_interfaces as eni_module

    draw = eni_module.random_private_ip

    def in_use(cidr: str) -> set[str]:
        return {
            ip["PrivateIpAddress"]
            for account in list(ec2_backends.values())
            for backend in list(account.values())
            for eni in list(backend.enis.values())
            if eni.subnet is not None and eni.subnet.cidr_block == cidr
            for ip in eni.private_ip_addresses
            if isinstance(ip, dict)
        }

    def free_address(cidr: str | None = None, ipv6: bool = False) -> str:
        if cidr is None or ipv6:
            return str(draw(cidr, ipv6))
        net = ipaddress.IPv4Network(cidr)
        free = sorted(
            set(range(int(net.network_address) + 4, int(net.broadcast_address)))
            - {int(ipaddress.IPv4Address(a)) for a in in_use(cidr)}
        )
        if not free:
            return str(draw(cidr, ipv6))  # a full subnet: AWS would refuse; moto's own answer
        return str(ipaddress.IPv4Address(random.choice(free)))

    eni_module.random_private_ip = free_address


def main(argv: list[str]) -> None:
    _patch_vpn_tunnel_endpoints()
    _patch_vpn_tunnel_bandwidth()
    _patch_elastic_ip_range()
    _patch_eni_private_ips()
    _patch_transit_gateway()
    _patch_deleted_attachments()
    _patch_attachment_tags()
    _patch_monitoring()
    _patch_enis()
    _patch_cloudwatch_cbor()
    import moto_xacct

    moto_xacct.patch()  # after _patch_deleted_attachments: a cross-account delete goes through it
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
