"""What every rule command reads first: the public IP a parameter names, with its
owner, its guest network and that network's zone and offering, in ONE statement; and
the network's services (which provider gives what), in one more.

The IP must be allocated to an account the caller may act on (4.1 ``checkAccess`` on
the address), and associated with a guest network for any rule to go on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.access import check_owner_access
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.compute.lookup import find_vm
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.models import IpState, NetworkType, UserIpAddress, Zone
from cumulo.jobs.models import AsyncJob
from cumulo.network.networks.models import Network, NetworkServiceMap
from cumulo.network.offerings.models import NetworkOffering
from cumulo.network.rules.models import NetworkRule, Purpose, TrafficType
from cumulo.sdk.api import Call, CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.sdk.network import Service


@dataclass(frozen=True)
class OwnerDomain:
    """The owner's domain, read with the resource (a ``DomainRef``)."""

    id: int
    uuid: str
    path: str
    removed: dt.datetime | None


@dataclass(frozen=True)
class GuestNetwork:
    """The guest network an address is associated with, and where it lives."""

    id: int
    uuid: str
    name: str | None
    state: str
    guest_type: str | None
    cidr: str | None
    gateway: str | None
    vpc_id: int | None
    zone_id: int
    zone_uuid: str
    basic_zone: bool
    elastic_ip: bool
    account_id: int
    domain_id: int


@dataclass(frozen=True)
class PublicIp:
    """A public address as the rule commands need it."""

    id: int
    uuid: str
    address: str
    state: str
    account_id: int
    account_uuid: str
    account_name: str
    domain_id: int
    domain_uuid: str
    domain_name: str
    source_nat: bool
    one_to_one_nat: bool
    vm_id: int | None
    vm_ip_address: str | None
    network: GuestNetwork | None


def by_id(
    model: type[UserIpAddress] | type[Network], value: object, param: str
) -> ColumnElement[bool]:
    """The row of ``model`` named by a UUID or (as every 4.1 lookup) an internal id."""
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        return model.id == number
    return model.uuid == text


def find_public_ip(
    session: Session, ctx: CallContext, value: object, param: str = "ipaddressid"
) -> PublicIp:
    """The allocated public address ``value`` names, if the caller may act on it.

    :raises InvalidParameterValue: no such address, or it is not allocated to anyone
        (431 naming ``param``).
    :raises PermissionDenied: it belongs to an account outside the caller's reach.
    """
    ip, net = UserIpAddress, Network
    row = session.execute(
        select(
            ip.id,
            ip.uuid,
            ip.public_ip_address,
            ip.state,
            ip.account_id,
            ip.source_nat,
            ip.one_to_one_nat,
            ip.vm_id,
            ip.vm_ip_address,
            Account.uuid.label("account_uuid"),
            Account.account_name,
            Domain.id.label("domain_id"),
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            Domain.path,
            Domain.removed,
            net.id.label("network_id"),
            net.uuid.label("network_uuid"),
            net.name.label("network_name"),
            net.state.label("network_state"),
            net.guest_type,
            net.cidr,
            net.gateway,
            net.vpc_id,
            net.account_id.label("network_account_id"),
            net.domain_id.label("network_domain_id"),
            Zone.id.label("zone_id"),
            Zone.uuid.label("zone_uuid"),
            Zone.networktype,
            NetworkOffering.elastic_ip_service,
        )
        .select_from(ip)
        .outerjoin(Account, Account.id == ip.account_id)
        .outerjoin(Domain, Domain.id == Account.domain_id)
        .outerjoin(net, (net.id == ip.associated_with_network_id) & net.removed.is_(None))
        .outerjoin(Zone, Zone.id == net.data_center_id)
        .outerjoin(NetworkOffering, NetworkOffering.id == net.network_offering_id)
        .where(by_id(ip, value, param))
    ).first()
    if row is None:
        raise invalid_id(param, value)
    if row.account_id is None or row.state not in (IpState.ALLOCATED.value,):
        raise InvalidParameterValue(
            f"{param}: the IP address {row.public_ip_address} is not allocated to an account"
            " yet; acquire it first (associateIpAddress)"
        )
    check_owner_access(
        ctx,
        row.account_id,
        row.account_uuid,
        OwnerDomain(row.domain_id, row.domain_uuid, row.path, row.removed),
    )
    network = None
    if row.network_id is not None:
        network = GuestNetwork(
            id=row.network_id,
            uuid=row.network_uuid,
            name=row.network_name,
            state=row.network_state,
            guest_type=row.guest_type,
            cidr=row.cidr,
            gateway=row.gateway,
            vpc_id=row.vpc_id,
            zone_id=row.zone_id,
            zone_uuid=row.zone_uuid,
            basic_zone=row.networktype == NetworkType.BASIC.value,
            elastic_ip=bool(row.elastic_ip_service),
            account_id=row.network_account_id,
            domain_id=row.network_domain_id,
        )
    return PublicIp(
        id=row.id,
        uuid=row.uuid,
        address=row.public_ip_address,
        state=row.state,
        account_id=row.account_id,
        account_uuid=row.account_uuid,
        account_name=row.account_name,
        domain_id=row.domain_id,
        domain_uuid=row.domain_uuid,
        domain_name=row.domain_name,
        source_nat=bool(row.source_nat),
        one_to_one_nat=bool(row.one_to_one_nat),
        vm_id=row.vm_id,
        vm_ip_address=row.vm_ip_address,
        network=network,
    )


def network_of(ip: PublicIp, param: str = "ipaddressid") -> GuestNetwork:
    """The guest network ``ip`` is associated with.

    :raises InvalidParameterValue: none (431 naming ``param``).
    """
    if ip.network is None:
        raise InvalidParameterValue(
            f"{param}: the IP address {ip.address} is not associated with any guest network"
        )
    return ip.network


def services_of(session: Session, network_id: int) -> dict[str, str | None]:
    """Service name → provider name of the network (one statement)."""
    rows = session.execute(
        select(NetworkServiceMap.service, NetworkServiceMap.provider).where(
            NetworkServiceMap.network_id == network_id
        )
    )
    return {service: provider for service, provider in rows}


def require_service(session: Session, network: GuestNetwork, service: Service, param: str) -> str:
    """The provider of ``service`` on ``network``.

    :raises InvalidParameterValue: the network's offering does not include the service
        (4.1: "<service> service is not supported in network"), 431 naming ``param``.
    """
    services = services_of(session, network.id)
    if service.value not in services:
        raise InvalidParameterValue(
            f"{param}: the {service.value} service is not supported in network {network.uuid}"
        )
    return services[service.value] or ""


@dataclass(frozen=True)
class FoundRule:
    """A rule as the delete and update commands need it."""

    id: int
    uuid: str
    purpose: str
    state: str
    traffic_type: str
    network_id: int
    ip_address_id: int | None
    account_id: int
    domain_id: int
    related: int | None


def find_rule(
    session: Session,
    ctx: CallContext,
    value: object,
    purposes: tuple[Purpose, ...],
    *,
    param: str = "id",
    traffic_type: TrafficType | None = None,
) -> FoundRule:
    """The rule ``value`` names among rules of ``purposes`` (and ``traffic_type``), if
    the caller may act on it (one statement).

    :raises InvalidParameterValue: no such rule of that kind (431 naming ``param``).
    :raises PermissionDenied: it belongs to an account outside the caller's reach.
    """
    rule = NetworkRule
    text = str(value).strip()
    if text.isdecimal():
        if not 0 < int(text) < 2**63:
            raise invalid_id(param, value)
        named = rule.id == int(text)
    else:
        named = rule.uuid == text
    conditions = [named, rule.purpose.in_([p.value for p in purposes])]
    if traffic_type is not None:
        conditions.append(rule.traffic_type == traffic_type.value)
    row = session.execute(
        select(
            rule.id,
            rule.uuid,
            rule.purpose,
            rule.state,
            rule.traffic_type,
            rule.network_id,
            rule.ip_address_id,
            rule.account_id,
            rule.domain_id,
            rule.related,
            Account.uuid.label("account_uuid"),
            Domain.uuid.label("domain_uuid"),
            Domain.path,
            Domain.removed,
        )
        .join(Account, Account.id == rule.account_id)
        .join(Domain, Domain.id == rule.domain_id)
        .where(*conditions)
    ).first()
    if row is None:
        raise invalid_id(param, value)
    check_owner_access(
        ctx,
        row.account_id,
        row.account_uuid,
        OwnerDomain(row.domain_id, row.domain_uuid, row.path, row.removed),
    )
    return FoundRule(*tuple(row)[:10])


def related_ids(session: Session, rule_id: int) -> list[int]:
    """The rule and the rules opened for it (``related``), ids in one statement."""
    rows = session.scalars(
        select(NetworkRule.id).where((NetworkRule.id == rule_id) | (NetworkRule.related == rule_id))
    )
    return list(rows)


@dataclass(frozen=True)
class JobRule:
    """The rule an async create command's ``create`` step made, found by its job."""

    id: int
    uuid: str
    network_id: int
    account_id: int
    domain_id: int


def rule_of_job(session: Session, job_uuid: str | None) -> JobRule:
    """The rule the job's ``create`` step wrote (the job's instance), in one statement.

    :raises InvalidParameterValue: it is gone (deleted while the job was queued).
    """
    row = session.execute(
        select(
            NetworkRule.id,
            NetworkRule.uuid,
            NetworkRule.network_id,
            NetworkRule.account_id,
            NetworkRule.domain_id,
        )
        .join(AsyncJob, AsyncJob.instance_uuid == NetworkRule.uuid)
        .where(AsyncJob.uuid == (job_uuid or ""))
    ).first()
    if row is None:
        raise InvalidParameterValue("id: the rule this job was to apply no longer exists")
    return JobRule(*row)


@dataclass(frozen=True)
class GuestNic:
    """A VM's NIC on a guest network: its address and whether it is the default one."""

    ip_address: str
    is_default: bool


def nic_on(session: Session, vm_id: int, network_id: int) -> GuestNic | None:
    """The VM's live NIC on the network, if any (one statement)."""
    row = session.execute(
        select(Nic.ip4_address, Nic.is_default).where(
            Nic.instance_id == vm_id, Nic.network_id == network_id, Nic.removed.is_(None)
        )
    ).first()
    if row is None or row.ip4_address is None:
        return None
    return GuestNic(row.ip4_address, bool(row.is_default))


UNUSABLE_VM_STATES = ("Destroyed", "Expunging", "Error")
"""States of VMs no rule may target any more."""


def target_vm(
    session: Session,
    ctx: CallContext,
    value: object,
    ip: PublicIp,
    network: GuestNetwork,
    param: str = "virtualmachineid",
) -> tuple[VirtualMachine, GuestNic]:
    """The VM a forwarding rule sends to, with its NIC on the IP's network.

    :raises InvalidParameterValue: no such VM, one being destroyed, or one without a
        NIC on the network (431 naming ``param``).
    :raises PermissionDenied: not the caller's, or not the address owner's VM (531).
    """
    vm = find_vm(session, ctx, value, param)
    if vm.account_id != ip.account_id:
        raise PermissionDenied(
            f"{param}: the VM {vm.uuid} and the IP address {ip.address} belong to different"
            " accounts"
        )
    if vm.state in UNUSABLE_VM_STATES:
        raise InvalidParameterValue(f"{param}: the VM {vm.uuid} is {vm.state}")
    nic = nic_on(session, vm.id, network.id)
    if nic is None:
        raise InvalidParameterValue(
            f"{param}: the VM {vm.uuid} has no NIC on network {network.uuid}, the network of"
            f" the IP address {ip.address}"
        )
    return vm, nic


class OwnedRule(Protocol):
    """What an event about a rule names: any rule row or :class:`FoundRule`."""

    @property
    def uuid(self) -> str: ...
    @property
    def account_id(self) -> int: ...
    @property
    def domain_id(self) -> int: ...


def record_rule_event(call: Call, kind: str, text: str, rule: OwnedRule) -> None:
    """Record ``kind`` (``NET.RULEADD``, ``FIREWALL.OPEN`` ...) about ``rule`` for its
    owner, as 4.1 does for every rule command."""
    events.record(
        call,
        kind,
        text,
        resource_type="FirewallRule",
        resource_uuid=rule.uuid,
        account_id=rule.account_id,
        domain_id=rule.domain_id,
    )
