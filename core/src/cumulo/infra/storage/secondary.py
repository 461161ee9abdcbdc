"""Secondary storage: per-zone stores for templates, ISOs and snapshots (CAP-15).

4.1 has no image-store table: a secondary storage is a ``host`` row of type
``SecondaryStorage`` in its zone (no pod, no cluster), whose ``name``, ``url`` and
``guid`` are its URL. So it is listed by ``listHosts type=SecondaryStorage`` like any
host, and ``addSecondaryStorage`` answers it as a ``HostResponse``.

Two URL forms (:func:`.urls.parse_secondary_url`): an NFS export, reached through the
storage driver of a hypervisor the zone's clusters run (as 4.1's secondary storage VM
runs on one of the zone's hosts), and a directory of the management server
(``file:///path``), the embedded default, measured directly. Capacity is stored in
``host_details`` (``total_size``, ``used_size``; 4.1 keeps it on the host row).

Rules: a zone is required; one URL is one store, cloud-wide; more may be added at any
time (REQ-SS-03). REQ-SS-02's "at least 100 GB" and REQ-SS-04's data loss are told as
warnings (recorded as ``WARN`` events by the command), not refusals: small test stores
are legitimate, and the API cannot ask "are you sure?".

REQ-SS-05 (the share exists and the system VM templates are installed on it) is
enforced: the share must answer (NFS, through the driver) or the directory exist
(``file://``), and for every hypervisor of the zone's clusters that runs system VMs
from a template (KVM, XenServer, VMware) the store must already hold that hypervisor's
system VM template where ``cloud-install-sys-tmplt`` (and ``cumulo
install-systemvm-template``) put it: ``template/tmpl/1/<id>/<file>.<ext>``, the
extension being the hypervisor's image format (:data:`SYSTEM_TEMPLATE_FORMATS`). The
simulator's system VMs need no template, so simulated zones are not concerned.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.db.base import new_uuid, utcnow
from cumulo.infra.hosts.models import Cluster, Host, HostDetail, HostStatus, HostType
from cumulo.infra.models import Zone
from cumulo.infra.storage import drivers, urls
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.storage import SecondaryStorageDriver, StorageCapacity, StorageError, StoreRef

MINIMUM_BYTES = 100 * 1000**3  # "at least 100 GB" (REQ-SS-02)
DATA_LOSS_WARNING = (
    "Adding secondary storage destroys any data already on it: the share must be empty"
    " apart from the system VM templates (REQ-SS-04, REQ-SS-05)."
)


SYSTEM_TEMPLATE_DIR = "template/tmpl/1/"
"""Where system VM templates live on a secondary store (account 1, the system)."""
SYSTEM_TEMPLATE_FORMATS = {"KVM": "qcow2", "XenServer": "vhd", "VMware": "ova"}
"""The image format (file extension) of each hypervisor's system VM template."""


def missing_system_templates(hypervisors: Iterable[str], paths: Iterable[str]) -> list[str]:
    """The hypervisors among ``hypervisors`` whose system VM template is not among the
    store's ``paths`` (relative, ``/``-separated), in order."""
    extensions = {
        path.rsplit(".", 1)[-1].lower()
        for path in paths
        if path.startswith(SYSTEM_TEMPLATE_DIR) and "." in path.rsplit("/", 1)[-1]
    }
    return [
        hypervisor
        for hypervisor in hypervisors
        if hypervisor in SYSTEM_TEMPLATE_FORMATS
        and SYSTEM_TEMPLATE_FORMATS[hypervisor] not in extensions
    ]


def _check_system_templates(hypervisors: list[str], paths: Iterable[str], url: str) -> None:
    missing = missing_system_templates(hypervisors, paths)
    if missing:
        formats = ", ".join(f"{h} ({SYSTEM_TEMPLATE_FORMATS[h]})" for h in missing)
        raise InvalidParameterValue(
            f"Invalid parameter url value={url}: the share holds no system VM template for"
            f" {formats} under {SYSTEM_TEMPLATE_DIR}; install it first (cumulo"
            " install-systemvm-template, as cloud-install-sys-tmplt) (REQ-SS-05)"
        )


def _local_paths(location: urls.SecondaryLocation) -> list[str]:
    root = Path(location.path) / SYSTEM_TEMPLATE_DIR
    if not root.is_dir():
        return []
    return [
        path.relative_to(location.path).as_posix() for path in root.glob("*/*") if path.is_file()
    ]


@dataclass
class AddedStore:
    """The new secondary storage host row, its capacity and warnings to record."""

    host: Host
    capacity: StorageCapacity
    warnings: list[str] = field(default_factory=list)


def _local_capacity(location: urls.SecondaryLocation) -> StorageCapacity:
    directory = Path(location.path)
    if not directory.is_dir():
        raise InvalidParameterValue(
            f"url: the directory {location.path} does not exist on the management server"
        )
    usage = shutil.disk_usage(directory)
    return StorageCapacity(total_bytes=usage.total, used_bytes=usage.used)


def _zone_hypervisors(session: Session, zone: Zone) -> list[str]:
    rows = session.scalars(
        select(Cluster.hypervisor_type)
        .where(Cluster.data_center_id == zone.id, Cluster.removed.is_(None))
        .order_by(Cluster.id)
    )
    return list(dict.fromkeys(rows))


def add_secondary_storage(session: Session, *, zone: Zone | None, url: str) -> AddedStore:
    """``addSecondaryStorage``: store a ``SecondaryStorage`` host row for ``url``.

    :raises InvalidParameterValue: no zone, a bad or already added URL, a missing
        local directory, no system VM template on it for a hypervisor of the zone
        (REQ-SS-05) (431 naming the parameter).
    :raises ResourceUnavailable: no driver can reach an NFS store, or it did not
        answer (534).
    """
    if zone is None:
        raise InvalidParameterValue(
            "zoneid: secondary storage belongs to a zone; give the zone's id"
        )
    location = urls.parse_secondary_url(url)
    taken = session.scalar(
        select(Zone.name)
        .join(Host, Host.data_center_id == Zone.id)
        .where(Host.guid == location.url, Host.removed.is_(None))
    )
    if taken is not None:
        raise InvalidParameterValue(
            f"url: {location.url} is already secondary storage of zone '{taken}'"
        )
    uuid = new_uuid()
    hypervisors = _zone_hypervisors(session, zone)
    if location.scheme == "file":
        capacity = _local_capacity(location)
        _check_system_templates(hypervisors, _local_paths(location), url)
    else:
        driver = drivers.secondary_driver(hypervisors)
        reference = StoreRef(uuid, location.url)

        def attach() -> StorageCapacity:
            driver.validate_url(reference.url, reference.details)
            return driver.attach_store(reference)

        capacity = drivers.reach(attach, f"secondary storage {location.url}")
        if missing_system_templates(hypervisors, ()):
            paths = _store_paths(driver, reference, location.url)
            if paths is not None:
                _check_system_templates(hypervisors, paths, url)
    now = utcnow()
    host = Host(
        uuid=uuid,
        name=location.url,
        type=HostType.SECONDARY_STORAGE.value,
        status=HostStatus.UP.value,
        data_center_id=zone.id,
        private_ip_address=location.host_address,
        url=location.url,
        guid=location.url,
        hypervisor_type="None",  # what 4.1 stores for hosts that run no hypervisor
        last_ping=now,
    )
    session.add(host)
    session.flush()
    session.add_all(
        [
            HostDetail(host_id=host.id, name="total_size", value=str(capacity.total_bytes)),
            HostDetail(host_id=host.id, name="used_size", value=str(capacity.used_bytes)),
        ]
    )
    session.flush()
    warnings = [DATA_LOSS_WARNING]
    if capacity.total_bytes < MINIMUM_BYTES:
        warnings.append(
            f"Secondary storage {location.url} holds {capacity.total_bytes // 1000**3} GB;"
            " at least 100 GB are required (REQ-SS-02)."
        )
    return AddedStore(host, capacity, warnings)


def _store_paths(driver: SecondaryStorageDriver, store: StoreRef, url: str) -> list[str] | None:
    """The paths on an attached store; ``None`` when the driver cannot list them (the
    REQ-SS-05 check is then skipped: nobody can tell)."""
    try:
        return list(driver.list_objects(store))
    except NotImplementedError:
        return None
    except StorageError as exc:
        raise ResourceUnavailable(
            f"secondary storage {url} could not list its contents: {exc}"
        ) from exc


def store_row(host: Host, zone: Zone) -> dict[str, Any]:
    """The mapping :func:`cumulo.infra.hosts.views.host_fields` renders, for a
    secondary storage host (no pod, cluster, CPU or memory)."""
    return {
        "uuid": host.uuid,
        "name": host.name,
        "status": host.status,
        "disconnected": host.disconnected,
        "type": host.type,
        "private_ip_address": host.private_ip_address,
        "zone_uuid": zone.uuid,
        "zone_name": zone.name,
        "pod_uuid": None,
        "pod_name": None,
        "version": host.version,
        "hypervisor_type": host.hypervisor_type,
        "cpus": None,
        "speed": None,
        "free_cpu": None,
        "total_memory": None,
        "free_memory": None,
        "capabilities": host.capabilities,
        "last_ping": host.last_ping,
        "mgmt_server_id": host.mgmt_server_id,
        "cluster_uuid": None,
        "cluster_name": None,
        "cluster_type": None,
        "created": host.created,
        "removed": host.removed,
        "host_tags": None,
        "resource_state": host.resource_state,
        "hypervisor_version": host.hypervisor_version,
        "ha_host": False,
    }
