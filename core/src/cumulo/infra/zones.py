"""Zones: create, update, delete and list (CAP-10, REQ-OM-09, REQ-OM-19, REQ-ZONE-02/03).

A zone's network type and its security-group setting are decided at creation and
never change (REQ-ZONE-02, REQ-ZONE-03): :func:`update_zone` takes them only to
refuse a different value. A zone with ``domain_id`` is private to that domain's
subtree (REQ-OM-09); callers other than root see only enabled zones that are public or
private to a domain on their own domain path.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cumulo import events
from cumulo.accounts.access import domain_subtree
from cumulo.accounts.models import Domain
from cumulo.db.base import utcnow
from cumulo.db.listing import fetch_page
from cumulo.infra import ipv4
from cumulo.infra.models import (
    AllocationState,
    NetworkType,
    PhysicalNetwork,
    Pod,
    UserIpAddress,
    Zone,
    ZoneDetail,
)
from cumulo.infra.rules import allocation_state, choice
from cumulo.infra.storage.models import PoolScope, StoragePool, StoragePoolStatus
from cumulo.sdk.api import Call, CallContext
from cumulo.sdk.errors import InternalError, InvalidParameterValue


def _check_name_free(session: Session, name: str, zone_id: int | None = None) -> None:
    clash = select(Zone.id).where(Zone.name == name, Zone.removed.is_(None))
    if zone_id is not None:
        clash = clash.where(Zone.id != zone_id)
    if session.scalar(clash) is not None:
        raise InvalidParameterValue(f"A zone with name {name} already exists (name)")


def _check_ip(value: str | None, param: str) -> None:
    if value:
        ipv4.address(value, param)


def _guest_cidr(value: str | None) -> str | None:
    # 4.1 (NetUtils.validateGuestCidr): the guest CIDR must be a private (RFC 1918) net.
    if not value:
        return None
    network = ipv4.cidr(value, "guestcidraddress")
    if not network.is_private:
        raise InvalidParameterValue(
            "Please enter a valid (private) guest cidr for guestcidraddress"
        )
    return str(network)


def create_zone(
    call: Call,
    *,
    name: str,
    networktype: str,
    dns1: str,
    internaldns1: str,
    dns2: str | None = None,
    internaldns2: str | None = None,
    ip6dns1: str | None = None,
    ip6dns2: str | None = None,
    guestcidraddress: str | None = None,
    domain: str | None = None,
    domain_row: Domain | None = None,
    allocationstate: str | None = None,
    securitygroupenabled: bool = False,
    localstorageenabled: bool = False,
) -> Zone:
    """Create a zone; ``domain_row`` makes it private to that domain (REQ-OM-09).

    New zones are ``Disabled`` unless ``allocationstate`` says otherwise, as in 4.1: the
    wizard enables the zone once its pods, clusters and storage exist.
    """
    session = call.session
    kind = choice(networktype, tuple(t.value for t in NetworkType), "networktype")
    _check_name_free(session, name)
    for value, param in ((dns1, "dns1"), (dns2, "dns2")):
        _check_ip(value, param)
    for value, param in ((internaldns1, "internaldns1"), (internaldns2, "internaldns2")):
        _check_ip(value, param)
    zone = Zone(
        name=name,
        networktype=kind,
        dns1=dns1,
        dns2=dns2 or None,
        ip6_dns1=ip6dns1 or None,
        ip6_dns2=ip6dns2 or None,
        internal_dns1=internaldns1,
        internal_dns2=internaldns2 or None,
        # Basic zones give guests addresses from the pods' ranges: no guest CIDR.
        guest_network_cidr=_guest_cidr(guestcidraddress) if kind == NetworkType.ADVANCED else None,
        domain=domain or None,
        domain_id=domain_row.id if domain_row is not None else None,
        allocation_state=allocation_state(allocationstate, AllocationState.DISABLED.value),
        is_security_group_enabled=bool(securitygroupenabled),
        is_local_storage_enabled=bool(localstorageenabled),
        # 4.1's default providers of a zone's system services.
        dhcp_provider="VirtualRouter",
        dns_provider="VirtualRouter",
        gateway_provider="VirtualRouter",
        firewall_provider="VirtualRouter",
        userdata_provider="VirtualRouter",
        lb_provider="VirtualRouter",
        vpn_provider="VirtualRouter",
    )
    session.add(zone)
    session.flush()
    events.record(
        call, "ZONE.CREATE", f"Created zone {name}", resource_type="Zone", resource_uuid=zone.uuid
    )
    return zone


UPDATABLE = (
    "name",
    "dns1",
    "dns2",
    "ip6dns1",
    "ip6dns2",
    "internaldns1",
    "internaldns2",
    "guestcidraddress",
    "domain",
    "dhcpprovider",
    "localstorageenabled",
    "allocationstate",
    "ispublic",
)


def update_zone(call: Call, zone: Zone, changes: dict[str, Any]) -> Zone:
    """Apply ``changes`` (parameter name → value; see :data:`UPDATABLE`).

    ``networktype`` and ``securitygroupenabled`` may be passed only with the zone's
    current value: they are fixed at creation (REQ-ZONE-03, REQ-ZONE-02).
    """
    if "networktype" in changes and changes["networktype"] is not None:
        wanted = choice(changes["networktype"], tuple(t.value for t in NetworkType), "networktype")
        if wanted != zone.networktype:
            raise InvalidParameterValue(
                f"networktype of zone {zone.name} is {zone.networktype} and cannot be changed"
            )
    wanted_sg = changes.get("securitygroupenabled")
    if wanted_sg is not None and bool(wanted_sg) != zone.is_security_group_enabled:
        raise InvalidParameterValue(
            "securitygroupenabled can only be chosen when a zone is created"
        )
    unknown = set(changes) - set(UPDATABLE) - {"networktype", "securitygroupenabled"}
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    value = changes.get
    new_name = value("name")
    if new_name:
        _check_name_free(call.session, new_name, zone.id)
        zone.name = new_name
    for param, attribute in (
        ("dns1", "dns1"),
        ("dns2", "dns2"),
        ("internaldns1", "internal_dns1"),
        ("internaldns2", "internal_dns2"),
    ):
        if value(param) is not None:
            _check_ip(value(param), param)
            setattr(zone, attribute, value(param) or None)
    if value("ip6dns1") is not None:
        zone.ip6_dns1 = value("ip6dns1") or None
    if value("ip6dns2") is not None:
        zone.ip6_dns2 = value("ip6dns2") or None
    if value("guestcidraddress") is not None:
        if zone.networktype != NetworkType.ADVANCED:
            raise InvalidParameterValue("guestcidraddress applies to advanced zones only")
        zone.guest_network_cidr = _guest_cidr(value("guestcidraddress"))
    if value("domain") is not None:
        zone.domain = value("domain") or None
    if value("dhcpprovider") is not None:
        zone.dhcp_provider = value("dhcpprovider")
    if value("localstorageenabled") is not None:
        zone.is_local_storage_enabled = bool(value("localstorageenabled"))
    if value("ispublic"):
        zone.domain_id = None  # 4.1: ispublic=true opens a private zone to everyone
    state = allocation_state(value("allocationstate"))
    if state is not None:
        zone.allocation_state = state
    call.session.flush()
    events.record(
        call,
        "ZONE.EDIT",
        f"Updated zone {zone.name}",
        resource_type="Zone",
        resource_uuid=zone.uuid,
    )
    return zone


def delete_zone(call: Call, zone: Zone) -> None:
    """Soft-delete an empty zone; 530 (4.1's text) while pods, physical networks or
    allocated public addresses remain in it."""
    session = call.session
    blockers = (
        ("pods", select(Pod.id).where(Pod.data_center_id == zone.id, Pod.removed.is_(None))),
        (
            "physical networks",
            select(PhysicalNetwork.id).where(
                PhysicalNetwork.data_center_id == zone.id, PhysicalNetwork.removed.is_(None)
            ),
        ),
        (
            "allocated public IP addresses",
            select(UserIpAddress.id).where(
                UserIpAddress.data_center_id == zone.id, UserIpAddress.state != "Free"
            ),
        ),
    )
    for what, query in blockers:
        if session.scalar(select(exists(query))):
            raise InternalError(f"The zone is not deletable because there are {what} in this zone")
    zone.removed = utcnow()
    session.flush()
    events.record(
        call,
        "ZONE.DELETE",
        f"Deleted zone {zone.name}",
        resource_type="Zone",
        resource_uuid=zone.uuid,
    )


def _ancestor_paths(path: str) -> list[str]:
    """``/A/B/`` → ``["/", "/A/", "/A/B/"]``: the caller's domain and its parents."""
    parts = [part for part in path.split("/") if part]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def usable_zones(ctx: CallContext) -> Any:
    """The zones ``ctx`` may deploy into, as a WHERE clause over ``data_center``.

    Root: all. Others: enabled zones that are public, or private to a domain on the
    caller's path (its own domain or a parent: REQ-OM-09); domain admins also see the
    zones private to their sub-domains.
    """
    if ctx.is_root_admin:
        return Zone.removed.is_(None)
    domains: ColumnElement[bool] = Domain.path.in_(_ancestor_paths(ctx.domain_path))
    if ctx.is_domain_admin:
        domains = or_(domains, domain_subtree(ctx.domain_path))
    return and_(
        Zone.removed.is_(None),
        Zone.allocation_state == AllocationState.ENABLED.value,
        or_(Zone.domain_id.is_(None), Zone.domain_id.in_(select(Domain.id).where(domains))),
    )


def list_zones(
    ctx: CallContext,
    session: Session,
    *,
    zone: Zone | None = None,
    domain: Domain | None = None,
    name: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[tuple[Zone, Domain | None]], int]:
    """One page of the zones ``ctx`` may see with their domains, and the total: one
    statement (``available`` changes nothing until VMs exist: every zone shown is one
    the caller may use)."""
    stmt = (
        select(Zone, Domain).outerjoin(Domain, Domain.id == Zone.domain_id).where(usable_zones(ctx))
    )
    if zone is not None:
        stmt = stmt.where(Zone.id == zone.id)
    if domain is not None:
        stmt = stmt.where(Zone.domain_id == domain.id)
    if name is not None:
        stmt = stmt.where(Zone.name == name)
    if keyword:
        pattern = f"%{keyword}%"
        stmt = stmt.where(or_(Zone.name.like(pattern), Zone.description.like(pattern)))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(Zone.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(row[0], row[1]) for row in rows], total


LOCAL_STORAGE_REQUIRED_KEY = "system.vm.local.storage.required"
DNS_SEARCH_ORDER = "dnssearchorder"
"""4.1's ``ZoneConfig.DnsSearchOrder`` detail name (comma-separated domains)."""


def check_can_enable(session: Session, zone: Zone, *, local_storage_required: bool) -> None:
    """REQ-PS-05: a zone whose system VMs would have no storage is not launched.

    Without shared primary storage (cluster-scope pools, not removed) system VMs can
    only start on host-local storage, which they use only when
    ``system.vm.local.storage.required`` is true; enabling such a zone with the setting
    false would leave it unable to start any system VM.

    :raises InvalidParameterValue: the case above (431 naming ``allocationstate``).
    """
    if zone.allocation_state == "Enabled" or local_storage_required:
        return
    shared = session.scalar(
        select(
            exists().where(
                StoragePool.data_center_id == zone.id,
                StoragePool.removed.is_(None),
                StoragePool.status != StoragePoolStatus.REMOVED.value,
                StoragePool.scope == PoolScope.CLUSTER.value,
            )
        )
    )
    if not shared:
        raise InvalidParameterValue(
            f"Invalid parameter allocationstate value=Enabled: zone {zone.name} has no shared"
            " primary storage, so its system VMs could only use host-local storage, and"
            f" {LOCAL_STORAGE_REQUIRED_KEY} is false; add shared primary storage or set"
            f" {LOCAL_STORAGE_REQUIRED_KEY} to true first (REQ-PS-05)"
        )


def _key_value_pairs(details: Any) -> dict[str, str]:
    # 4.1 (ConfigurationManagerImpl.editZone): details[i].key / details[i].value.
    entries = list(details.values()) if isinstance(details, dict) else list(details or [])
    pairs: dict[str, str] = {}
    for entry in entries:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not key or "value" not in entry:
            raise InvalidParameterValue(
                "Invalid parameter details: expected details[0].key=<name>&details[0].value=<value>"
            )
        value = str(entry["value"])
        if len(str(key)) > 255 or len(value) > 1024:
            raise InvalidParameterValue(
                "Invalid parameter details: names are at most 255 characters, values 1024"
            )
        pairs[str(key)] = value
    return pairs


def set_zone_details(
    session: Session, zone: Zone, details: Any, dns_search_order: list[str] | None
) -> dict[str, str]:
    """``updateZone details[]`` and ``dnssearchorder``: merge them into
    ``data_center_details`` (existing names are overwritten, as 4.1 persists them).

    :return: the zone's details after the change.
    """
    wanted = _key_value_pairs(details) if details else {}
    if dns_search_order is not None:
        domains = [name.strip() for name in dns_search_order if name.strip()]
        for name in domains:
            if not all(label and len(label) <= 63 for label in name.split(".")):
                raise InvalidParameterValue(
                    f"Invalid parameter dnssearchorder value={name}: not a domain name"
                )
        wanted[DNS_SEARCH_ORDER] = ",".join(domains)
    current = {
        row.name: row
        for row in session.scalars(select(ZoneDetail).where(ZoneDetail.dc_id == zone.id))
    }
    for name, value in wanted.items():
        if name in current:
            current[name].value = value
        else:
            current[name] = ZoneDetail(dc_id=zone.id, name=name, value=value)
            session.add(current[name])
    session.flush()
    return {name: row.value for name, row in current.items()}
