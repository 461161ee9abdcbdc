"""Helpers shared by the topology command handlers."""

from __future__ import annotations

from sqlalchemy import select

from cumulo.accounts.commands.support import paging
from cumulo.jobs.models import AsyncJob
from cumulo.sdk.api import Call, Param, ParamType
from cumulo.sdk.errors import InternalError, InvalidParameterValue

__all__ = ["created_uuid", "not_yet", "paging"]


def created_uuid(call: Call) -> str:
    """The public id the ``create`` step of an async create command made (kept on the
    job row as its instance, which is how 4.1's ``BaseAsyncCreateCmd`` hands it over)."""
    uuid = call.session.scalar(select(AsyncJob.instance_uuid).where(AsyncJob.uuid == call.job_uuid))
    if uuid is None:
        raise InternalError(f"job {call.job_uuid} has no created instance")
    return uuid


def not_yet(call: Call, *names: str, why: str = "is not supported yet") -> None:
    """431 naming the first of ``names`` the caller gave: a 4.1 parameter declared for
    compatibility that this server cannot honour yet."""
    for name in names:
        value = call.get(name)
        if value not in (None, "", False):
            raise InvalidParameterValue(f"The parameter {name} {why}")


# Parameters several commands declare alike.
PAGING = (
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)
"""``BaseListCmd``'s parameters, declared last as 4.1 lists them."""

PHYSICAL_NETWORK_TAGS = Param(
    "tags",
    ParamType.LIST,
    description="Tag the physical network",
    item_type=ParamType.STRING,
)

PHYSICAL_NETWORK_ID = Param(
    "physicalnetworkid",
    ParamType.UUID,
    description="the Physical Network ID",
    required=True,
    entity="PhysicalNetwork",
)

XEN_NETWORK_LABEL = Param(
    "xennetworklabel",
    description=(
        "The network name label of the physical device dedicated to "
        "this traffic on a XenServer host"
    ),
)

KVM_NETWORK_LABEL = Param(
    "kvmnetworklabel",
    description=(
        "The network name label of the physical device dedicated to this traffic on a KVM host"
    ),
)

VMWARE_NETWORK_LABEL = Param(
    "vmwarenetworklabel",
    description=(
        "The network name label of the physical device dedicated to this traffic on a VMware host"
    ),
)

TRAFFIC_TYPE_ID = Param(
    "id",
    ParamType.UUID,
    description="traffic type id",
    required=True,
    entity="TrafficType",
)

SERVICE_LIST = Param(
    "servicelist",
    ParamType.LIST,
    description="the list of services to be enabled for this physical network service provider",
    item_type=ParamType.STRING,
)

FOR_VIRTUAL_NETWORK = Param(
    "forvirtualnetwork",
    ParamType.BOOLEAN,
    description="true if VLAN is of Virtual type, false if Direct",
)

VLAN_RANGE_ZONE_ID = Param(
    "zoneid",
    ParamType.UUID,
    description="the Zone ID of the VLAN IP range",
    entity="Zone",
)

LOCAL_STORAGE_ENABLED = Param(
    "localstorageenabled",
    ParamType.BOOLEAN,
    description="true if local storage offering enabled, false otherwise",
)

ZONE_ID = Param(
    "id", ParamType.UUID, description="the ID of the Zone", required=True, entity="Zone"
)

ALLOCATION_STATE = Param(
    "allocationstate",
    description="Allocation state of this cluster for allocation of new resources",
)

POD_ID = Param("id", ParamType.UUID, description="the ID of the Pod", required=True, entity="Pod")
