"""The ``guest_os_category``, ``guest_os``, ``vm_template``, ``template_zone_ref``,
``launch_permission`` and ``vm_template_details`` tables, with 4.1's names.

Templates and ISOs share ``vm_template`` as in 4.1 (an ISO is a row of format ``ISO``).
Where 4.1 keeps a template's presence in a zone (``template_zone_ref``) apart from its
download state on each secondary storage host (``template_host_ref``), cumulo downloads
a template to one store of each zone, so one row per template and zone holds both: the
zone it is registered in, the store that holds it, how far the download got and why it
failed. ``listTemplates`` (one entry per template and zone, as in 4.1) then needs no
second join, and the download job updates one row.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime, new_uuid


class TemplateType(enum.StrEnum):
    """``vm_template.type`` (4.1's ``Storage.TemplateType``)."""

    SYSTEM = "SYSTEM"
    BUILTIN = "BUILTIN"
    PERHOST = "PERHOST"
    USER = "USER"


class TemplateFormat(enum.StrEnum):
    """``vm_template.format`` values cumulo accepts (4.1's ``Storage.ImageFormat``)."""

    QCOW2 = "QCOW2"
    RAW = "RAW"
    VHD = "VHD"
    OVA = "OVA"
    ISO = "ISO"


class TemplateState(enum.StrEnum):
    """``vm_template.state``: live, or deleted from every zone."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"


class DownloadState(enum.StrEnum):
    """``template_zone_ref.download_state`` (4.1's ``VMTemplateHostVO.Status``)."""

    NOT_DOWNLOADED = "NOT_DOWNLOADED"
    DOWNLOAD_IN_PROGRESS = "DOWNLOAD_IN_PROGRESS"
    DOWNLOADED = "DOWNLOADED"
    DOWNLOAD_ERROR = "DOWNLOAD_ERROR"
    ABANDONED = "ABANDONED"


class GuestOsCategory(Base):
    """An OS family (``CentOS``, ``Windows`` ...): ``listOsCategories``."""

    __tablename__ = "guest_os_category"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))


class GuestOs(Base):
    """An OS type a template declares (``ostypeid``): ``listOsTypes``."""

    __tablename__ = "guest_os"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    category_id: Mapped[int] = mapped_column(IdType, ForeignKey("guest_os_category.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(255))


class VMTemplate(IdentityMixin, Base):
    """A template or ISO (``format`` ``ISO``).

    ``size`` is the virtual size (what a volume made from it needs) and
    ``physical_size`` the bytes on secondary storage, both known once a zone has it;
    ``checksum`` is what the owner registered (MD5 hex as in 4.1, or ``{SHA-256}hex``).
    ``cross_zones`` is 4.1's flag for templates registered to every zone (``zoneid=-1``).
    """

    __tablename__ = "vm_template"
    __table_args__ = (
        Index(None, "account_id", "removed"),
        Index(None, "public", "featured"),
        # What a volume's or snapshot's copy to a template locks (cumulo.volumes.busy).
        Index(None, "source_volume_id"),
        Index(None, "source_snapshot_id"),
    )

    unique_name: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    display_text: Mapped[str | None] = mapped_column(String(4096))
    format: Mapped[str] = mapped_column(String(32))
    hypervisor_type: Mapped[str | None] = mapped_column(String(32))
    guest_os_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("guest_os.id"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"), index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    password_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sshkey_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    bootable: Mapped[bool] = mapped_column(Boolean, default=True)
    extractable: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_hvm: Mapped[bool] = mapped_column(Boolean, default=True)
    bits: Mapped[int] = mapped_column(Integer, default=64)
    cross_zones: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    physical_size: Mapped[int | None] = mapped_column(BigInteger)
    template_type: Mapped[str] = mapped_column(String(32), default=TemplateType.USER.value)
    url: Mapped[str | None] = mapped_column(String(1024))
    checksum: Mapped[str | None] = mapped_column(String(255))
    template_tag: Mapped[str | None] = mapped_column(String(255))
    source_template_id: Mapped[int | None] = mapped_column(IdType)
    # createTemplate's source (no foreign keys: volumes and snapshots are expunged
    # while the templates made from them live on).
    source_volume_id: Mapped[int | None] = mapped_column(IdType)
    source_snapshot_id: Mapped[int | None] = mapped_column(IdType)
    sort_key: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(32), default=TemplateState.ACTIVE.value)


class TemplateZoneRef(Base):
    """A template registered in a zone, and its download to that zone's store.

    ``download_pct`` and ``error_str`` are what ``listTemplates`` shows as ``status``;
    ``install_path`` is the object's path on the store (``template/tmpl/<account>/<id>/
    <file>``). ``store_id`` is the store's ``host`` row (4.1 keeps secondary storage as
    hosts), ``NULL`` while none was chosen.
    """

    __tablename__ = "template_zone_ref"
    __table_args__ = (
        UniqueConstraint("template_id", "zone_id"),
        Index(None, "zone_id", "download_state"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(IdType, ForeignKey("vm_template.id"))
    zone_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host.id"), index=True)
    download_state: Mapped[str] = mapped_column(
        String(32), default=DownloadState.NOT_DOWNLOADED.value
    )
    download_pct: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int | None] = mapped_column(BigInteger)
    physical_size: Mapped[int | None] = mapped_column(BigInteger)
    install_path: Mapped[str | None] = mapped_column(String(1024))
    error_str: Mapped[str | None] = mapped_column(String(1024))
    job_uuid: Mapped[str | None] = mapped_column(String(40))
    # Downloads started for this row; a stalled one is retried while below the limit
    # (cumulo.templates.sync).
    download_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extract_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_updated: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class LaunchPermission(Base):
    """An account allowed to use a private template (``updateTemplatePermissions``)."""

    __tablename__ = "launch_permission"
    __table_args__ = (UniqueConstraint("template_id", "account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("vm_template.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"), index=True)


class TemplateDetail(Base):
    """One ``details`` entry of ``registerTemplate`` (``details[0].key=value``)."""

    __tablename__ = "vm_template_details"
    __table_args__ = (UniqueConstraint("template_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("vm_template.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
