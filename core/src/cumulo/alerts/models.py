"""The ``alert`` table, in CloudStack 4.1's shape.

An alert is what an operator must act on (a host down, capacity past its threshold),
as opposed to an event, which records that something happened. 4.1 keeps one row per
alert sent (``AlertManagerImpl.sendAlert``): ``type`` is one of
:class:`AlertType`, ``subject`` the one-line text ``listAlerts`` shows as
``description``, ``sent_count``/``last_sent`` how often and when it was mailed.
``resolved`` is 4.1's "the condition cleared"; ``archived`` is what later CloudStack
(4.2 ``archiveAlerts``) added, kept so that hiding alerts never deletes history.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, new_uuid, utcnow


class AlertType(enum.IntEnum):
    """4.1's ``AlertManager.ALERT_TYPE_*`` numbers (the first ten mirror the capacity
    types of ``listCapacity``)."""

    MEMORY = 0
    CPU = 1
    STORAGE = 2
    STORAGE_ALLOCATED = 3
    VIRTUAL_NETWORK_PUBLIC_IP = 4
    PRIVATE_IP = 5
    SECONDARY_STORAGE = 6
    HOST = 7
    USERVM = 8
    DOMAIN_ROUTER = 9
    CONSOLE_PROXY = 10
    ROUTING = 11
    STORAGE_MISC = 12
    USAGE_SERVER = 13
    MANAGEMENT_NODE = 14
    DOMAIN_ROUTER_MIGRATE = 15
    CONSOLE_PROXY_MIGRATE = 16
    USERVM_MIGRATE = 17
    VLAN = 18
    SSVM = 19
    USAGE_SERVER_RESULT = 20
    STORAGE_DELETE = 21
    UPDATE_RESOURCE_COUNT = 22
    USAGE_SANITY_RESULT = 23
    DIRECT_ATTACHED_PUBLIC_IP = 24
    LOCAL_STORAGE = 25
    RESOURCE_LIMIT_EXCEEDED = 26


class Alert(Base):
    """One alert raised (4.1 ``alert``; no ``removed``: alerts are history)."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    type: Mapped[int] = mapped_column(Integer)
    cluster_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("cluster.id"))
    pod_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host_pod_ref.id"))
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    # SMTP allows 1000 characters per line including CRLF: 4.1's varchar(999).
    subject: Mapped[str | None] = mapped_column(String(999))
    sent_count: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_sent: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        # listAlerts pages newest first over unarchived alerts, optionally of one type.
        Index(None, "archived", "type", "id"),
        # 4.1's getLastAlert: the open alert of a type for a zone/pod/cluster.
        Index(None, "data_center_id", "type", "resolved"),
    )
