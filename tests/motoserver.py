"""Runs the real moto server with the fidelity fixes below, each one where moto differs from AWS.

The modules are written for AWS; where moto behaves differently in a way that would make a correct
module fail, the difference is corrected here, in the emulator, and listed in EMULATOR_FIXES (which
the test session prints). Nothing here changes what AWS would answer.
"""

from __future__ import annotations

import sys
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
    "ec2-monitor-instances": (
        "moto does not implement MonitorInstances/UnmonitorInstances (HTTP 500, NotImplementedError), which "
        "the provider calls to turn detailed monitoring on (every instance here has it on). The fix records "
        "the monitoring state on the instance and answers as AWS does."
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


def main(argv: list[str]) -> None:
    _patch_transit_gateway()
    _patch_deleted_attachments()
    _patch_attachment_tags()
    _patch_monitoring()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
