"""Disk offerings: create, update, delete (REQUIREMENTS CAP-17).

Services work in the caller's transaction and never commit. The rules are 4.1's
(``ConfigurationManagerImpl.createDiskOffering``), each a 431 naming the parameter:

- a non-customized offering needs ``disksize``, in GB, at least 1 and at most
  ``storage.max.volume.size``;
- a customized offering takes its size when a volume is created, so it has no
  ``disksize`` (4.1 accepted one and kept it unused; here it is refused so that nobody
  believes it is a default); its ``disk_size`` is 0;
- ``storagetype`` ``local`` or ``shared``;
- offerings used by the system (``system_use``) cannot be deleted.

Sizes are stored in bytes (GB here means GiB, as 4.1 multiplies by 1024³).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.db.base import utcnow
from cumulo.offerings import validation
from cumulo.offerings.models import DiskOffering
from cumulo.offerings.settings import DEFAULT_MAX_VOLUME_SIZE_GB
from cumulo.sdk.errors import InvalidParameterValue

GIB = 1024**3


def create_disk_offering(
    session: Session,
    *,
    name: str,
    display_text: str,
    disk_size_gb: int | None = None,
    customized: bool = False,
    tags: str | None = None,
    storage_type: str | None = None,
    domain: Domain | None = None,
    max_size_gb: int = DEFAULT_MAX_VOLUME_SIZE_GB,
) -> DiskOffering:
    """``createDiskOffering``: validate (module docstring) and store a new offering.

    :param disk_size_gb: ``disksize`` in GB (``None``: absent).
    :param max_size_gb: ``storage.max.volume.size``.
    :param domain: ``None`` for a public offering.
    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    """
    if customized:
        if disk_size_gb is not None:
            raise InvalidParameterValue(
                "disksize: a customized disk offering takes its size when a volume is"
                " created; do not give disksize with customized=true"
            )
        size = 0
    else:
        if disk_size_gb is None:
            raise InvalidParameterValue(
                "disksize: the disk size is required for a non-customized disk offering"
            )
        size = validation.in_range(disk_size_gb, "disksize", 1, max_size_gb, "GB") * GIB
    offering = DiskOffering(
        name=validation.name(name),
        display_text=validation.display_text(display_text),
        disk_size=size,
        customized=customized,
        tags=validation.tags(tags),
        use_local_storage=validation.uses_local_storage(storage_type),
        domain_id=validation.live_domain(domain),
        system_use=False,
        sort_key=0,
    )
    session.add(offering)
    session.flush()
    return offering


def update_disk_offering(
    session: Session,
    offering: DiskOffering,
    *,
    name: str | None = None,
    display_text: str | None = None,
    sort_key: int | None = None,
) -> bool:
    """``updateDiskOffering``: rename, change the display text or the sort key.

    :return: whether anything was given to change.
    :raises InvalidParameterValue: a blank or too long name or text (431).
    """
    if name is None and display_text is None and sort_key is None:
        return False
    if name is not None:
        offering.name = validation.name(name)
    if display_text is not None:
        offering.display_text = validation.display_text(display_text)
    if sort_key is not None:
        offering.sort_key = sort_key
    session.flush()
    return True


def delete_disk_offering(session: Session, offering: DiskOffering) -> None:
    """``deleteDiskOffering``: soft-delete a live offering; volumes keep pointing at it.

    :raises InvalidParameterValue: a system offering (431 naming ``id``).
    """
    if offering.system_use:
        raise InvalidParameterValue(
            f"id: '{offering.name}' is a system disk offering and cannot be deleted"
        )
    offering.removed = utcnow()
    session.flush()
