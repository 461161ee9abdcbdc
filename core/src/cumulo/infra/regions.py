"""Regions: the other installations this one knows about (CAP-09 §12, REQ-REG-01..07).

A region row is ``(id, name, endpoint)``. The id is the operator's small integer, the
one each installation was set up with (``setup-databases -r <id>``); it is never
generated here, because region ids must agree across every installation of the full
mesh (REQ-REG-05: each region registers every other one with ``addRegion``). Region 1,
"Local", is inserted by the topology migration (REQ-REG-01), so a cloud that never
heard of regions has exactly one and all its zones belong to it.

Rules, each a 431 naming its parameter:

- ids are positive and unique, names are unique (4.1's ``RegionManagerImpl``);
- the endpoint is an ``http``/``https`` URL (it is where other regions send API calls);
- the local region — this installation's ``region.id`` — is never removed, nor is a
  region that zones of this cloud belong to: both would leave zones in no region.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.db.listing import fetch_page
from cumulo.infra.models import DEFAULT_REGION_ID, Region, Zone
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue

MAX_REGION_ID = 2**31 - 1
"""``region.id`` is a signed 32-bit column in 4.1."""


def local_region_id(call: Call) -> int:
    """This installation's region id: the ``region_id`` service, else the runtime's
    ``region_id`` (``region.id`` of ``db.properties``), else the default region 1."""
    value = call.services.get("region_id")
    if value is None:
        value = getattr(call.services.get("runtime"), "region_id", None)
    return int(value) if value is not None else DEFAULT_REGION_ID


def find_region(session: Session, value: object, param: str = "id") -> Region:
    """The region with id ``value``.

    :raises InvalidParameterValue: no such region (431 naming ``param``).
    """
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    found = session.get(Region, number) if 0 < number <= MAX_REGION_ID else None
    if found is None:
        raise InvalidParameterValue(f"Region with id {value} ({param}) doesn't exist")
    return found


def _check_name(session: Session, name: str, region_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidParameterValue("Please specify a region name (name)")
    clash = select(Region.id).where(Region.name == name)
    if region_id is not None:
        clash = clash.where(Region.id != region_id)
    if session.scalar(clash) is not None:
        raise InvalidParameterValue(f"Region with name {name} (name) already exists")
    return name


def _check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterValue(
            f"Please specify the region's management server URL for endpoint, such as"
            f" http://<region_IP>:8080/client (got {endpoint!r})"
        )
    return endpoint


def add_region(call: Call, *, region_id: int, name: str, endpoint: str) -> Region:
    """Register region ``region_id`` (REQ-REG-05: called on every installation for
    every other one).

    :raises InvalidParameterValue: the id is not positive or taken, the name is taken,
        or the endpoint is not an http(s) URL.
    """
    session = call.session
    if not 0 < region_id <= MAX_REGION_ID:
        raise InvalidParameterValue(f"Please specify a positive region id (id), not {region_id}")
    if session.get(Region, region_id) is not None:
        raise InvalidParameterValue(f"Region with id {region_id} (id) already exists")
    region = Region(
        id=region_id, name=_check_name(session, name), end_point=_check_endpoint(endpoint)
    )
    session.add(region)
    session.flush()
    events.record(
        call,
        "REGION.ADD",
        f"Added region {region.id} ({region.name}) at {region.end_point}",
        resource_type="Region",
    )
    return region


def update_region(
    call: Call, region: Region, *, name: str | None = None, endpoint: str | None = None
) -> Region:
    """Change a region's name and/or endpoint (e.g. naming the default region 1);
    an absent value leaves the field as it is."""
    session = call.session
    if name is not None:
        region.name = _check_name(session, name, region.id)
    if endpoint is not None:
        region.end_point = _check_endpoint(endpoint)
    session.flush()
    events.record(
        call,
        "REGION.UPDATE",
        f"Updated region {region.id} ({region.name}) at {region.end_point}",
        resource_type="Region",
    )
    return region


def remove_region(call: Call, region: Region) -> None:
    """Unregister another region (repeat on every installation to remove it everywhere).

    :raises InvalidParameterValue: ``region`` is this installation's own region, or
        zones of this cloud belong to it.
    """
    session = call.session
    if region.id == local_region_id(call):
        raise InvalidParameterValue(
            f"Region {region.id} (id) is the local region of this installation and cannot"
            " be removed"
        )
    zones = select(Zone.id).where(Zone.region_id == region.id, Zone.removed.is_(None))
    if session.scalar(select(exists(zones))):
        raise InvalidParameterValue(
            f"Region {region.id} (id) cannot be removed: zones of this cloud belong to it"
        )
    session.delete(region)
    session.flush()
    events.record(
        call, "REGION.REMOVE", f"Removed region {region.id} ({region.name})", resource_type="Region"
    )


def list_regions(
    session: Session,
    *,
    region_id: int | None = None,
    name: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[Region], int]:
    """One page of regions ordered by id, and the total, in one statement."""
    stmt = select(Region)
    if region_id is not None:
        stmt = stmt.where(Region.id == region_id)
    if name is not None:
        stmt = stmt.where(Region.name == name)
    if keyword:
        stmt = stmt.where(Region.name.like(f"%{keyword}%"))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(Region.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [row[0] for row in rows], total
