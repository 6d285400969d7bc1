"""Cross-account sharing for the moto server: RAM resource shares and a RAM-shared Transit Gateway.

moto (5.2) keeps one backend per account, maps credentials to an account (an access key of a role
assumed in account X through moto's STS belongs to X), and implements only part of RAM: it stores a
share's principals and resources but has no AssociateResourceShare/DisassociateResourceShare,
ListPrincipals, ListResources, ListResourceSharePermissions or invitations, ignores the filters of
GetResourceShares, and never lets another account see what is shared with it. Its EC2 backend looks
a Transit Gateway up in the caller's account only and does not implement
AcceptTransitGatewayVpcAttachment.

This module adds what AWS does on that path, nothing more (each piece cites the AWS API reference):

- RAM (https://docs.aws.amazon.com/ram/latest/APIReference/): a principal account in the owner's
  organization, once the management account called EnableSharingWithAwsOrganization, is associated
  at once (no invitation); any other account principal gets an invitation (PENDING) and its
  association stays ASSOCIATING until AcceptResourceShareInvitation; with allowExternalPrincipals
  false an account outside the organization is refused. Organization and OU principals need sharing
  with the organization enabled. Associations carry their real status (GetResourceShareAssociations
  filters on it instead of echoing it), DisassociateResourceShare leaves them DISASSOCIATED,
  DeleteResourceShare disassociates everything. A share attaches the resource type's default
  managed permission (AWSRAMDefaultPermission<Type>) as AWS does when no permission is given.
- EC2 (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/): a Transit Gateway whose share is
  associated with an account is listed by that account's DescribeTransitGateways (OwnerId = the
  owner) and can be the target of its routes and VPC attachments. A VPC attachment to another
  account's TGW is created in state `pendingAcceptance` unless the TGW has
  AutoAcceptSharedAttachments=enable (TransitGatewayOptions); the owner sees it in its own
  Describe*Attachments (ResourceOwnerId/VpcOwnerId = the VPC's account, TransitGatewayOwnerId = the
  owner) with its own tags, accepts it (AcceptTransitGatewayVpcAttachment: "The VPC attachment must
  be in the pendingAcceptance state"), then associates and propagates it in its route tables. Either
  side may delete it; the owner's associations and propagations of it go with it.
  Describe*Attachments filter on state, resource-owner-id, transit-gateway-owner-id and tags, as AWS
  does (moto ignores those filters). Until the owner
  accepted, a route from that VPC to the shared TGW is refused with InvalidTransitGatewayID.NotFound,
  as AWS refuses it (the first-apply race of issue 9).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

DEFAULT_PERMISSIONS = {
    # resource type in the ARN -> (RAM resource type, AWS managed default permission)
    "transit-gateway": ("ec2:TransitGateway", "AWSRAMDefaultPermissionTransitGateway"),
    "subnet": ("ec2:Subnet", "AWSRAMDefaultPermissionSubnet"),
    "prefix-list": ("ec2:PrefixList", "AWSRAMDefaultPermissionPrefixList"),
}
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^arn:aws:organizations::(\d{12}):organization/(o-\w+)$")
_OU = re.compile(r"^arn:aws:organizations::(\d{12}):ou/(o-\w+)/(ou-[\w-]+)$")
_ARN_TYPE = re.compile(r"^arn:[\w-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):([a-z-]+)[/:](.+)$")


def _now() -> float:
    from moto.core.utils import unix_time

    return unix_time()


# --- organizations ----------------------------------------------------------------------------------


def _org_master(account_id: str) -> str | None:
    """The management account of the organization `account_id` belongs to, if any."""
    from moto.organizations.models import organizations_backends

    if account_id in organizations_backends.master_accounts:
        return organizations_backends.master_accounts[account_id][0]
    own = dict.get(dict.get(organizations_backends, account_id) or {}, "aws")
    return account_id if own is not None and own.org else None


def _sharing_enabled(master: str) -> bool:
    """Whether the management account enabled RAM sharing with its organization (kept on the
    organization, so a reset of moto forgets it with the organization)."""
    from moto.organizations.models import organizations_backends

    org = organizations_backends[master]["aws"].org
    return bool(getattr(org, "ram_sharing_enabled", False))


def _in_ou(account_id: str, master: str, ou_id: str) -> bool:
    from moto.organizations.models import organizations_backends

    org = organizations_backends[master]["aws"]
    child = account_id
    for _ in range(6):  # an OU tree is at most five levels deep
        try:
            parents = org.list_parents(ChildId=child)["Parents"]
        except Exception:  # not in this organization
            return False
        if not parents or parents[0]["Type"] == "ROOT":
            return False
        if parents[0]["Id"] == ou_id:
            return True
        child = parents[0]["Id"]
    return False


# --- RAM ---------------------------------------------------------------------------------------------


class _Association:
    def __init__(self, entity: str, kind: str, status: str, external: bool = False) -> None:
        self.entity, self.kind, self.status, self.external = entity, kind, status, external
        self.created = self.updated = _now()

    def set(self, status: str) -> None:
        self.status, self.updated = status, _now()


class _Invitation:
    def __init__(self, share: Any, receiver: str) -> None:
        self.arn = f"arn:aws:ram:{share.region}:{share.account_id}:resource-share-invitation/{uuid.uuid4()}"
        self.share, self.receiver, self.status, self.created = share, receiver, "PENDING", _now()

    def describe(self) -> dict[str, Any]:
        return {
            "resourceShareInvitationArn": self.arn,
            "resourceShareName": self.share.name,
            "resourceShareArn": self.share.arn,
            "senderAccountId": self.share.account_id,
            "receiverAccountId": self.receiver,
            "invitationTimestamp": self.created,
            "status": self.status,
        }


def _invitations() -> list[_Invitation]:
    return [inv for share in _all_shares() for inv in share.invitations]


def _not_permitted(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("OperationNotPermittedException", message)


def _principal_status(share: Any, principal: str) -> tuple[str, bool]:
    """(status, external) of a new principal association, as AWS RAM decides it."""
    owner_org = _org_master(share.account_id)
    if _ORG.match(principal) or _OU.match(principal):
        if owner_org is None or not _sharing_enabled(owner_org):
            raise _not_permitted(
                "Organization and OU principals need sharing with AWS Organizations enabled "
                "(EnableSharingWithAwsOrganization).",
            )
        return "ASSOCIATED", False
    if _ACCOUNT.match(principal):
        internal = owner_org is not None and _org_master(principal) == owner_org
        if internal and _sharing_enabled(owner_org):
            return "ASSOCIATED", False
        if not internal and not share.allow_external_principals:
            raise _not_permitted(
                f"Principal {principal} is not in your AWS organization. You cannot share resources "
                "with principals outside of your AWS organization (allowExternalPrincipals is false).",
            )
        share.invitations.append(_Invitation(share, principal))
        return "ASSOCIATING", not internal
    return "ASSOCIATED", False  # IAM roles/users of the owner's organization


def _has_access(share: Any, account_id: str) -> bool:
    """Whether `account_id` may use what `share` shares (an ASSOCIATED principal covers it)."""
    if share.status != "ACTIVE":
        return False
    for a in share.assoc.values():
        if a.kind != "PRINCIPAL" or a.status != "ASSOCIATED":
            continue
        if a.entity == account_id:
            return True
        if (m := _ORG.match(a.entity)) and _org_master(account_id) == m.group(1):
            return True
        m = _OU.match(a.entity)
        if m and _org_master(account_id) == m.group(1) and _in_ou(account_id, m.group(1), m.group(3)):
            return True
    return False


def _all_shares() -> list[Any]:
    from moto.ram.models import ram_backends

    return [
        share
        for _acct, regions in list(ram_backends.items())
        for _region, backend in list(regions.items())
        for share in backend.resource_shares
    ]


def shared_resource_arns(account_id: str, region: str) -> set[str]:
    """ARNs of the resources other accounts share with `account_id` in `region` (ASSOCIATED)."""
    return {
        a.entity
        for share in _all_shares()
        if share.region == region and share.account_id != account_id and _has_access(share, account_id)
        for a in share.assoc.values()
        if a.kind == "RESOURCE" and a.status == "ASSOCIATED"
    }


def _patch_ram() -> None:
    from moto.ram import models, responses, urls

    share_init = models.ResourceShare.__init__

    def share_init_fixed(self: Any, account_id: str, region: str, **kwargs: Any) -> None:
        share_init(self, account_id, region, **kwargs)
        self.assoc: dict[tuple[str, str], _Association] = {}
        self.tags = {t["key"]: t["value"] for t in kwargs.get("tags") or []}
        self.invitations: list[_Invitation] = []

    def add_principals(self: Any, principals: list[str]) -> None:
        for p in principals:
            old = self.assoc.get(("PRINCIPAL", p))
            if old and old.status in ("ASSOCIATED", "ASSOCIATING"):
                continue
            status, external = _principal_status(self, p)
            self.assoc[("PRINCIPAL", p)] = _Association(p, "PRINCIPAL", status, external)
        self.principals = [a.entity for a in self.assoc.values() if a.kind == "PRINCIPAL"]

    add_resources_checked = models.ResourceShare.add_resources

    def add_resources(self: Any, resource_arns: list[str]) -> None:
        add_resources_checked(self, resource_arns)  # moto's ARN and shareable-type checks
        for arn in resource_arns:
            self.assoc[("RESOURCE", arn)] = _Association(arn, "RESOURCE", "ASSOCIATED")
        self.resource_arns = [a.entity for a in self.assoc.values() if a.kind == "RESOURCE"]

    def describe(self: Any) -> dict[str, Any]:
        return {
            "allowExternalPrincipals": self.allow_external_principals,
            "creationTime": models.unix_time(self.creation_time),
            "featureSet": self.feature_set,
            "lastUpdatedTime": models.unix_time(self.last_updated_time),
            "name": self.name,
            "owningAccountId": self.owning_account_id,
            "resourceShareArn": self.arn,
            "status": self.status,
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
        }

    def delete(self: Any) -> None:
        self.last_updated_time = models.utcnow()
        self.status = "DELETED"
        for a in self.assoc.values():
            a.set("DISASSOCIATED")

    models.ResourceShare.__init__ = share_init_fixed  # type: ignore[method-assign]
    models.ResourceShare.add_principals = add_principals  # type: ignore[method-assign]
    models.ResourceShare.add_resources = add_resources  # type: ignore[method-assign]
    models.ResourceShare.describe = describe  # type: ignore[method-assign]
    models.ResourceShare.delete = delete  # type: ignore[method-assign]

    backend = models.ResourceAccessManagerBackend

    def own(self: Any, arn: str | None) -> Any:
        for share in self.resource_shares:
            if share.arn == arn:
                return share
        raise models.UnknownResourceException(f"ResourceShare {arn} could not be found.")

    def get_resource_shares(self: Any, resource_owner: str | None, **filters: Any) -> dict[str, Any]:
        if resource_owner not in ("SELF", "OTHER-ACCOUNTS"):
            raise models.InvalidParameterException(
                f"{resource_owner} is not a valid resource owner. "
                "Specify either SELF or OTHER-ACCOUNTS and try again."
            )
        if resource_owner == "SELF":
            shares = list(self.resource_shares)
        else:
            shares = [
                s
                for s in _all_shares()
                if s.region == self.region_name
                and s.account_id != self.account_id
                and _has_access(s, self.account_id)
            ]
        if arns := filters.get("resourceShareArns"):
            shares = [s for s in shares if s.arn in arns]
        if status := filters.get("resourceShareStatus"):
            shares = [s for s in shares if s.status == status]
        if name := filters.get("name"):
            shares = [s for s in shares if s.name == name]
        for tf in filters.get("tagFilters") or []:
            shares = [s for s in shares if s.tags.get(tf.get("tagKey")) in (tf.get("tagValues") or [])]
        return {"resourceShares": [s.describe() for s in shares]}

    def create_resource_share(self: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("allowExternalPrincipals", True)  # AWS's default
        share = models.ResourceShare(self.account_id, self.region_name, **kwargs)
        share.add_resources(kwargs.get("resourceArns") or [])
        share.add_principals(kwargs.get("principals") or [])
        self.resource_shares.append(share)
        out = share.describe()
        out.pop("featureSet")
        return {"resourceShare": out}

    def _assoc_out(share: Any, a: _Association) -> dict[str, Any]:
        return {
            "resourceShareArn": share.arn,
            "resourceShareName": share.name,
            "associatedEntity": a.entity,
            "associationType": a.kind,
            "status": a.status,
            "creationTime": a.created,
            "lastUpdatedTime": a.updated,
            "external": a.external,
        }

    def associate_resource_share(
        self: Any, arn: str, principals: list[str], resource_arns: list[str]
    ) -> dict[str, Any]:
        share = own(self, arn)
        if share.status != "ACTIVE":
            raise models.InvalidParameterException(f"ResourceShare {arn} is not active.")
        share.add_resources(resource_arns or [])
        share.add_principals(principals or [])
        keys = [("RESOURCE", r) for r in resource_arns or []] + [("PRINCIPAL", p) for p in principals or []]
        return {"resourceShareAssociations": [_assoc_out(share, share.assoc[k]) for k in keys]}

    def disassociate_resource_share(
        self: Any, arn: str, principals: list[str], resource_arns: list[str]
    ) -> dict[str, Any]:
        share = own(self, arn)
        keys = [("RESOURCE", r) for r in resource_arns or []] + [("PRINCIPAL", p) for p in principals or []]
        out = []
        for key in keys:
            if key not in share.assoc:
                raise models.UnknownResourceException(f"{key[1]} is not associated with {arn}.")
            share.assoc[key].set("DISASSOCIATED")
            for inv in share.invitations:
                if inv.share is share and inv.receiver == key[1] and inv.status == "PENDING":
                    inv.status = "REJECTED"
            out.append(_assoc_out(share, share.assoc[key]))
        share.principals = [
            a.entity for a in share.assoc.values() if a.kind == "PRINCIPAL" and a.status != "DISASSOCIATED"
        ]
        share.resource_arns = [
            a.entity for a in share.assoc.values() if a.kind == "RESOURCE" and a.status != "DISASSOCIATED"
        ]
        return {"resourceShareAssociations": out}

    def get_resource_share_associations(
        self: Any,
        association_type: str | None,
        association_status: str | None,
        resource_share_arns: list[str],
        resource_arn: str | None,
        principal: str | None,
    ) -> dict[str, Any]:
        if association_type not in ("PRINCIPAL", "RESOURCE"):
            raise models.InvalidParameterException(f"{association_type} is not a valid association type.")
        if association_type == "PRINCIPAL" and resource_arn:
            raise models.InvalidParameterException(
                "You cannot specify a resource ARN when the association type is PRINCIPAL."
            )
        if association_type == "RESOURCE" and principal:
            raise models.InvalidParameterException(
                "You cannot specify a principal when the association type is RESOURCE."
            )
        out = []
        for share in self.resource_shares:
            if resource_share_arns and share.arn not in resource_share_arns:
                continue
            for a in share.assoc.values():
                if a.kind != association_type or (association_status and a.status != association_status):
                    continue
                if (principal and a.entity != principal) or (resource_arn and a.entity != resource_arn):
                    continue
                out.append(_assoc_out(share, a))
        return {"resourceShareAssociations": out}

    def _visible(self: Any, owner: str, arns: list[str]) -> list[Any]:
        if owner == "SELF":
            shares = list(self.resource_shares)
        else:
            shares = [
                s
                for s in _all_shares()
                if s.account_id != self.account_id and _has_access(s, self.account_id)
            ]
        return [s for s in shares if s.status == "ACTIVE" and (not arns or s.arn in arns)]

    def list_principals(self: Any, owner: str, arns: list[str], principals: list[str]) -> dict[str, Any]:
        out = [
            {
                "id": a.entity,
                "resourceShareArn": s.arn,
                "creationTime": a.created,
                "lastUpdatedTime": a.updated,
                "external": a.external,
            }
            for s in _visible(self, owner, arns)
            for a in s.assoc.values()
            if a.kind == "PRINCIPAL"
            and a.status == "ASSOCIATED"
            and (not principals or a.entity in principals)
        ]
        return {"principals": out}

    def list_resources(self: Any, owner: str, arns: list[str], resource_arns: list[str]) -> dict[str, Any]:
        out = []
        for s in _visible(self, owner, arns):
            for a in s.assoc.values():
                if a.kind != "RESOURCE" or a.status != "ASSOCIATED":
                    continue
                if resource_arns and a.entity not in resource_arns:
                    continue
                m = _ARN_TYPE.match(a.entity)
                rtype = DEFAULT_PERMISSIONS.get(m.group(2), (m.group(2),))[0] if m else ""
                out.append(
                    {
                        "arn": a.entity,
                        "type": rtype,
                        "resourceShareArn": s.arn,
                        "status": "AVAILABLE",
                        "creationTime": a.created,
                        "lastUpdatedTime": a.updated,
                        "resourceRegionScope": "REGIONAL",
                    }
                )
        return {"resources": out}

    def list_resource_share_permissions(self: Any, arn: str) -> dict[str, Any]:
        share = own(self, arn)
        seen: dict[str, dict[str, Any]] = {}
        for a in share.assoc.values():
            m = _ARN_TYPE.match(a.entity) if a.kind == "RESOURCE" and a.status == "ASSOCIATED" else None
            if m and m.group(2) in DEFAULT_PERMISSIONS:
                rtype, name = DEFAULT_PERMISSIONS[m.group(2)]
                seen[name] = {
                    "arn": f"arn:aws:ram::aws:permission/{name}",
                    "version": "1",
                    "defaultVersion": True,
                    "name": name,
                    "resourceType": rtype,
                    "status": "ASSOCIATED",
                    "isResourceTypeDefault": True,
                    "permissionType": "AWS_MANAGED",
                }
        return {"permissions": list(seen.values())}

    def enable_sharing_with_aws_organization(self: Any) -> dict[str, Any]:
        if not self.organizations_backend.org:  # only the management account
            raise models.OperationNotPermittedException()
        self.organizations_backend.org.ram_sharing_enabled = True
        return {"returnValue": True}

    def get_resource_share_invitations(
        self: Any, invitation_arns: list[str], arns: list[str]
    ) -> dict[str, Any]:
        out = [
            inv.describe()
            for inv in _invitations()
            if inv.receiver == self.account_id
            and (not invitation_arns or inv.arn in invitation_arns)
            and (not arns or inv.share.arn in arns)
        ]
        return {"resourceShareInvitations": out}

    def accept_resource_share_invitation(self: Any, invitation_arn: str) -> dict[str, Any]:
        for inv in _invitations():
            if inv.arn == invitation_arn and inv.receiver == self.account_id:
                if inv.status != "PENDING":
                    raise models.InvalidParameterException(
                        f"ResourceShareInvitation {invitation_arn} is already {inv.status.lower()}."
                    )
                inv.status = "ACCEPTED"
                inv.share.assoc[("PRINCIPAL", inv.receiver)].set("ASSOCIATED")
                return {"resourceShareInvitation": inv.describe()}
        raise models.UnknownResourceException(f"ResourceShareInvitation {invitation_arn} could not be found.")

    for fn in (
        get_resource_shares,
        create_resource_share,
        associate_resource_share,
        disassociate_resource_share,
        get_resource_share_associations,
        list_principals,
        list_resources,
        list_resource_share_permissions,
        enable_sharing_with_aws_organization,
        get_resource_share_invitations,
        accept_resource_share_invitation,
    ):
        setattr(backend, fn.__name__, fn)

    # --- the HTTP side: the operations moto routes nowhere -------------------------------------
    import json

    r = responses.ResourceAccessManagerResponse

    def answer(self: Any, method: str, *args: Any) -> str:
        return json.dumps(getattr(self.ram_backend, method)(*args))

    def p(self: Any, name: str, default: Any = None) -> Any:
        return self.request_params.get(name, default)

    r.get_resource_shares = lambda self: json.dumps(  # type: ignore[attr-defined]
        self.ram_backend.get_resource_shares(
            p(self, "resourceOwner"),
            resourceShareArns=p(self, "resourceShareArns"),
            resourceShareStatus=p(self, "resourceShareStatus"),
            name=p(self, "name"),
            tagFilters=p(self, "tagFilters"),
        )
    )
    r.associate_resource_share = lambda self: answer(  # type: ignore[attr-defined]
        self,
        "associate_resource_share",
        p(self, "resourceShareArn"),
        p(self, "principals"),
        p(self, "resourceArns"),
    )
    r.disassociate_resource_share = lambda self: answer(  # type: ignore[attr-defined]
        self,
        "disassociate_resource_share",
        p(self, "resourceShareArn"),
        p(self, "principals"),
        p(self, "resourceArns"),
    )
    r.list_principals = lambda self: answer(  # type: ignore[attr-defined]
        self,
        "list_principals",
        p(self, "resourceOwner"),
        p(self, "resourceShareArns", []),
        p(self, "principals", []),
    )
    r.list_resources = lambda self: answer(  # type: ignore[attr-defined]
        self,
        "list_resources",
        p(self, "resourceOwner"),
        p(self, "resourceShareArns", []),
        p(self, "resourceArns", []),
    )
    r.list_resource_share_permissions = lambda self: answer(  # type: ignore[attr-defined]
        self, "list_resource_share_permissions", p(self, "resourceShareArn")
    )
    r.get_resource_share_invitations = lambda self: answer(  # type: ignore[attr-defined]
        self,
        "get_resource_share_invitations",
        p(self, "resourceShareInvitationArns", []),
        p(self, "resourceShareArns", []),
    )
    r.accept_resource_share_invitation = lambda self: answer(  # type: ignore[attr-defined]
        self, "accept_resource_share_invitation", p(self, "resourceShareInvitationArn")
    )
    for path in (
        "associateresourceshare",
        "disassociateresourceshare",
        "listprincipals",
        "listresources",
        "listresourcesharepermissions",
        "getresourceshareinvitations",
        "acceptresourceshareinvitation",
    ):
        urls.url_paths["{0}/" + path + "$"] = r.dispatch


# --- EC2: the shared Transit Gateway ---------------------------------------------------------------


def _shared_tgws(backend: Any) -> dict[str, Any]:
    """TGWs of other accounts that RAM shares with `backend`'s account, by id."""
    from moto.ec2.models import ec2_backends

    found = {}
    for arn in shared_resource_arns(backend.account_id, backend.region_name):
        m = _ARN_TYPE.match(arn)
        if not m or m.group(2) != "transit-gateway":
            continue
        owner, tgw_id = m.group(1), m.group(3)
        owner_backend = dict.get(dict.get(ec2_backends, owner) or {}, backend.region_name)
        tgw = dict.get(owner_backend.transit_gateways, tgw_id) if owner_backend else None
        if tgw is not None:
            found[tgw_id] = tgw
    return found


class _Tgws(dict):  # type: ignore[type-arg]
    """An account's own TGWs; lookups by id also find the TGWs shared with it (routes, attachments).
    Iteration stays the account's own, so nothing else of moto lists another account's TGW."""

    def __init__(self, backend: Any) -> None:
        super().__init__()
        self.backend = backend

    def get(self, key: Any, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return _shared_tgws(self.backend).get(key, default)

    def __getitem__(self, key: Any) -> Any:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found


class _OwnerView:
    """The owner's side of another account's VPC attachment to its TGW: the same attachment (state,
    subnets, associations), but the owner's own tags, as on AWS where tags are per account."""

    def __init__(self, attachment: Any, backend: Any) -> None:
        object.__setattr__(self, "_att", attachment)
        object.__setattr__(self, "ec2_backend", backend)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._att, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._att, name, value)


def _patch_ec2() -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import route_tables
    from moto.ec2.models import transit_gateway as tgw
    from moto.ec2.models import transit_gateway_attachments as att
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.responses import transit_gateway_attachments as att_responses
    from moto.utilities.utils import filter_resources

    # The owner's view has the EC2 tag behaviour of any EC2 resource, on the owner's tag store.
    for name in ("get_tags", "add_tag", "add_tags", "get_filter_value", "match_tags"):
        setattr(_OwnerView, name, getattr(TaggedEC2Resource, name))
    for name in ("tag_list", "tag_set"):
        setattr(_OwnerView, name, getattr(TaggedEC2Resource, name))

    backend_init = tgw.TransitGatewayBackend.__init__

    def backend_init_fixed(self: Any) -> None:
        backend_init(self)
        self.transit_gateways = _Tgws(self)

    describe = tgw.TransitGatewayBackend.describe_transit_gateways

    def describe_fixed(self: Any, filters: Any, transit_gateway_ids: list[str] | None) -> list[Any]:
        found = describe(self, filters, transit_gateway_ids)
        shared = [
            g
            for i, g in sorted(_shared_tgws(self).items())
            if not transit_gateway_ids or i in transit_gateway_ids
        ]
        if filters:
            attr_pairs = (("transit-gateway-id", "id"), ("state", "state"), ("owner-id", "owner_id"))
            shared = filter_resources(shared, filters, attr_pairs)
        return found + shared

    # TransitGatewayOwnerId is the TGW's owner, not the attachment's (moto answers the latter).
    att.TransitGatewayAttachment.transit_gateway_owner_id = property(  # type: ignore[assignment]
        lambda self: getattr(self, "_tgw_owner_id", self.resource_owner_id)
    )

    create = att.TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment

    def create_fixed(
        self: Any,
        transit_gateway_id: str,
        vpc_id: str,
        subnet_ids: list[str],
        tags: dict[str, str] | None = None,
        options: dict[str, str] | None = None,
    ) -> Any:
        if dict.__contains__(self.transit_gateways, transit_gateway_id):
            return create(self, transit_gateway_id, vpc_id, subnet_ids, tags, options)
        shared = _shared_tgws(self).get(transit_gateway_id)
        if shared is None:  # neither ours nor shared with us: moto's own InvalidTransitGatewayID
            return create(self, transit_gateway_id, vpc_id, subnet_ids, tags, options)
        owner = shared.ec2_backend
        for other in self.transit_gateway_attachments.values():
            if (
                other.transit_gateway_id == transit_gateway_id
                and other.resource_id == vpc_id
                and other.state != "deleted"
            ):
                raise att.DuplicateTransitGatewayAttachmentError(transit_gateway_id)
        attachment = att.TransitGatewayVpcAttachment(
            self, transit_gateway=shared, tags=tags, vpc_id=vpc_id, subnet_ids=subnet_ids, options=options
        )
        attachment._tgw_owner_id = owner.account_id
        attachment.transit_gateway_route_table = None  # the owner associates it once accepted
        attachment.state = "pendingAcceptance"
        self.transit_gateway_attachments[attachment.id] = attachment
        owner.transit_gateway_attachments[attachment.id] = _OwnerView(attachment, owner)
        if shared.options.get("AutoAcceptSharedAttachments") == "enable":
            accept(owner, attachment.id)
        return attachment

    def accept(self: Any, transit_gateway_attachment_id: str) -> Any:
        found = self.transit_gateway_attachments.get(transit_gateway_attachment_id)
        if found is None or found.state == "deleted":
            raise EC2ClientError(
                "InvalidTransitGatewayAttachmentID.NotFound",
                f"Transit Gateway Attachment {transit_gateway_attachment_id} was deleted or does not exist.",
            )
        if found.state != "pendingAcceptance":
            raise EC2ClientError(
                "IncorrectState",
                f"tgw-attachment {transit_gateway_attachment_id} is in invalid state {found.state}",
            )
        found.state = "available"
        gateway = dict.get(self.transit_gateways, found.transit_gateway_id)
        if gateway is not None and gateway.default_route_table:
            # AWS associates/propagates an accepted attachment with the defaults the TGW has enabled.
            found.transit_gateway_route_table = gateway.default_route_table
            self.set_route_table_association(found.id, gateway.default_route_table.id)
        return found

    delete = att.TransitGatewayAttachmentBackend.delete_transit_gateway_vpc_attachment

    def delete_fixed(self: Any, transit_gateway_attachment_id: str) -> Any:
        """Either side deletes the one attachment; both sides then see it `deleted`."""
        from moto.ec2.models import ec2_backends

        if transit_gateway_attachment_id not in self.transit_gateway_attachments:
            raise EC2ClientError(
                "InvalidTransitGatewayAttachmentID.NotFound",
                f"Transit Gateway Attachment {transit_gateway_attachment_id} was deleted or does not exist.",
            )
        gone = delete(self, transit_gateway_attachment_id)
        for regions in list(dict.values(ec2_backends)):
            other = dict.get(regions, self.region_name)
            if other is None:
                continue
            if other is not self and transit_gateway_attachment_id in other.transit_gateway_attachments:
                delete(other, transit_gateway_attachment_id)
            forget_wiring(other, transit_gateway_attachment_id)
        return gone

    def forget_wiring(backend: Any, attachment_id: str) -> None:
        """AWS drops a deleted attachment's route-table associations and propagations; moto keeps them
        and then fails (HTTP 500) when the owner disassociates an attachment the creator deleted."""
        for table in backend.transit_gateways_route_tables.values():
            table.route_table_associations.pop(attachment_id, None)
            table.route_table_propagation = [
                p for p in table.route_table_propagation if p.transitGatewayAttachmentId != attachment_id
            ]
        backend.transit_gateway_associations.pop(attachment_id, None)
        backend.transit_gateway_propagations.pop(attachment_id, None)

    def guard_route(self: Any, route_table_id: str, transit_gateway_id: str | None) -> None:
        """A route to a shared TGW needs this VPC's attachment to it accepted (`available`): before
        that AWS answers InvalidTransitGatewayID.NotFound (the provider retries it until its create
        timeout), which is why a workload account cannot route before the owner accepts."""
        if not transit_gateway_id or dict.__contains__(self.transit_gateways, transit_gateway_id):
            return
        if transit_gateway_id not in _shared_tgws(self):
            return  # not shared with us: moto's own handling
        vpc_id = self.get_route_table(route_table_id).vpc_id
        if not any(
            a.transit_gateway_id == transit_gateway_id and a.resource_id == vpc_id and a.state == "available"
            for a in self.transit_gateway_attachments.values()
        ):
            raise EC2ClientError(
                "InvalidTransitGatewayID.NotFound",
                f"The transitGateway ID '{transit_gateway_id}' does not exist.",
            )

    create_route = route_tables.RouteBackend.create_route
    replace_route = route_tables.RouteBackend.replace_route

    def create_route_fixed(self: Any, route_table_id: str, *args: Any, **kwargs: Any) -> Any:
        guard_route(self, route_table_id, kwargs.get("transit_gateway_id"))
        return create_route(self, route_table_id, *args, **kwargs)

    def replace_route_fixed(self: Any, route_table_id: str, *args: Any, **kwargs: Any) -> Any:
        guard_route(self, route_table_id, kwargs.get("transit_gateway_id"))
        return replace_route(self, route_table_id, *args, **kwargs)

    # Filters of DescribeTransitGatewayAttachments/-VpcAttachments that moto ignores (it keeps every
    # attachment) but that a cross-account caller needs: AWS filters on these.
    extra = {
        "state": "state",
        "resource-owner-id": "resource_owner_id",
        "transit-gateway-owner-id": "transit_gateway_owner_id",
        "transit-gateway-attachment-id": "id",
    }

    def refine(found: list[Any], filters: Any) -> list[Any]:
        if not filters:
            return found
        out = []
        for a in found:
            tags = {t["key"]: t["value"] for t in a.get_tags()}
            if all(getattr(a, attr) in filters[key] for key, attr in extra.items() if key in filters) and all(
                tags.get(key[4:]) in values for key, values in filters.items() if key.startswith("tag:")
            ):
                out.append(a)
        return out

    describe_all = att.TransitGatewayAttachmentBackend.describe_transit_gateway_attachments
    describe_vpc = att.TransitGatewayAttachmentBackend.describe_transit_gateway_vpc_attachments

    def describe_all_fixed(
        self: Any, transit_gateways_attachment_ids: Any = None, filters: Any = None
    ) -> Any:
        return refine(describe_all(self, transit_gateways_attachment_ids, filters), filters)

    def describe_vpc_fixed(
        self: Any, transit_gateways_attachment_ids: Any = None, filters: Any = None
    ) -> Any:
        return refine(describe_vpc(self, transit_gateways_attachment_ids, filters), filters)

    def accept_response(self: Any) -> Any:
        from moto.core.responses import ActionResult

        attachment_id = self._get_param("TransitGatewayAttachmentId")
        return ActionResult(
            {
                "TransitGatewayVpcAttachment": self.ec2_backend.accept_transit_gateway_vpc_attachment(
                    attachment_id
                )
            }
        )

    att.TransitGatewayAttachmentBackend.describe_transit_gateway_attachments = describe_all_fixed  # type: ignore[method-assign]
    att.TransitGatewayAttachmentBackend.describe_transit_gateway_vpc_attachments = describe_vpc_fixed  # type: ignore[method-assign]
    route_tables.RouteBackend.create_route = create_route_fixed  # type: ignore[method-assign]
    route_tables.RouteBackend.replace_route = replace_route_fixed  # type: ignore[method-assign]
    tgw.TransitGatewayBackend.__init__ = backend_init_fixed  # type: ignore[method-assign]
    tgw.TransitGatewayBackend.describe_transit_gateways = describe_fixed  # type: ignore[method-assign]
    att.TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment = create_fixed  # type: ignore[method-assign]
    att.TransitGatewayAttachmentBackend.accept_transit_gateway_vpc_attachment = accept  # type: ignore[attr-defined]
    att.TransitGatewayAttachmentBackend.delete_transit_gateway_vpc_attachment = delete_fixed  # type: ignore[method-assign]
    att_responses.TransitGatewayAttachment.accept_transit_gateway_vpc_attachment = accept_response  # type: ignore[attr-defined]


def patch() -> None:
    _patch_ram()
    _patch_ec2()
