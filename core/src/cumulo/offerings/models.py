"""The ``service_offering`` and ``disk_offering`` tables.

4.1 keeps both kinds in one ``disk_offering`` table (a ``type`` column, ``Service`` or
``Disk``) with ``service_offering`` as a joined extension; here each kind has a table of
its own, with 4.1's column names, so a list is one table scan and no type filter.

Units as 4.1 stores them: ``cpu`` vCPUs, ``speed`` MHz, ``ram_size`` MB, ``nw_rate`` and
``mc_rate`` Mbps, ``disk_size`` bytes (the API shows GB). ``domain_id`` NULL means a
public offering; otherwise the offering is visible in that domain and every domain
below it (:mod:`cumulo.offerings.visibility`). ``system_use`` marks offerings of system
VMs (routers, console proxies, secondary storage VMs); ``default_use`` marks the ones
the management server seeded for itself and relies on, which cannot be deleted.
"""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType


class StorageType(enum.StrEnum):
    """``storagetype``: where an offering's volumes live."""

    SHARED = "shared"
    LOCAL = "local"


class SystemVmType(enum.StrEnum):
    """``service_offering.vm_type`` of a system offering, stored lower-case as 4.1 does
    (``VirtualMachine.Type.toString().toLowerCase()``)."""

    DOMAIN_ROUTER = "domainrouter"
    CONSOLE_PROXY = "consoleproxy"
    SECONDARY_STORAGE_VM = "secondarystoragevm"


class ServiceOffering(IdentityMixin, Base):
    """A compute offering: what a VM gets in CPU, memory, HA and placement hints.

    ``tags`` are storage tags (comma-separated, matched against primary storage tags
    for the root volume); ``host_tag`` is one host tag the host must carry.
    ``deployment_planner`` names a planner entry point; 4.1 has no API parameter for
    it, so it is only set by operators or plugins (NULL: the global planner).
    ``unique_name`` identifies the seeded system offerings (4.1's ``unique_name``).
    """

    __tablename__ = "service_offering"
    __table_args__ = (Index(None, "system_use", "removed", "sort_key"),)

    name: Mapped[str] = mapped_column(String(255))
    unique_name: Mapped[str | None] = mapped_column(String(32), unique=True)
    display_text: Mapped[str] = mapped_column(String(4096))
    cpu: Mapped[int] = mapped_column(Integer)
    speed: Mapped[int] = mapped_column(Integer)
    ram_size: Mapped[int] = mapped_column(Integer)
    use_local_storage: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tags: Mapped[str | None] = mapped_column(String(4096))
    host_tag: Mapped[str | None] = mapped_column(String(255))
    ha_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    limit_cpu_use: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    nw_rate: Mapped[int | None] = mapped_column(Integer)
    mc_rate: Mapped[int | None] = mapped_column(Integer)
    deployment_planner: Mapped[str | None] = mapped_column(String(255))
    system_use: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    vm_type: Mapped[str | None] = mapped_column(String(32))
    default_use: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    domain_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("domain.id"), index=True)
    sort_key: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def storage_type(self) -> str:
        """``local`` or ``shared``, as the API shows it."""
        return (StorageType.LOCAL if self.use_local_storage else StorageType.SHARED).value


class DiskOffering(IdentityMixin, Base):
    """A data-disk offering: a size (or ``customized``: the size is given per volume),
    storage tags and where the volume lives.

    ``disk_size`` is in bytes and 0 for a customized offering.
    """

    __tablename__ = "disk_offering"
    __table_args__ = (Index(None, "system_use", "removed", "sort_key"),)

    name: Mapped[str] = mapped_column(String(255))
    display_text: Mapped[str] = mapped_column(String(4096))
    disk_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    customized: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tags: Mapped[str | None] = mapped_column(String(4096))
    use_local_storage: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    domain_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("domain.id"), index=True)
    system_use: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sort_key: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def storage_type(self) -> str:
        """``local`` or ``shared``, as the API shows it."""
        return (StorageType.LOCAL if self.use_local_storage else StorageType.SHARED).value
