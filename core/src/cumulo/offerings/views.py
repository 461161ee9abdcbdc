"""Response views: service and disk offerings as 4.1 answers them.

Field names and order are those of 4.1's ``ServiceOfferingResponse`` and
``DiskOfferingResponse`` (response-fields-4.1.tsv). Views are pure: they read loaded
rows and never query; the domain's public id and name come with the row.
"""

from __future__ import annotations

from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.sdk.api import Fields

SERVICE_OFFERING_FIELDS = (
    "id",
    "name",
    "displaytext",
    "cpunumber",
    "cpuspeed",
    "memory",
    "created",
    "storagetype",
    "offerha",
    "limitcpuuse",
    "tags",
    "domainid",
    "domain",
    "hosttags",
    "issystem",
    "defaultuse",
    "systemvmtype",
    "networkrate",
)
DISK_OFFERING_FIELDS = (
    "id",
    "domainid",
    "domain",
    "name",
    "displaytext",
    "disksize",
    "created",
    "iscustomized",
    "tags",
    "storagetype",
)

GIB = 1024**3


def service_offering_fields(
    offering: ServiceOffering, domain_uuid: str | None, domain_name: str | None
) -> Fields:
    """A ``ServiceOfferingResponse`` (object name ``serviceoffering``).

    ``cpuspeed`` is MHz and ``memory`` MB; ``networkrate`` (Mbps) is left out when the
    offering has none, as gson leaves out nulls.
    """
    return {
        "id": offering.uuid,
        "name": offering.name,
        "displaytext": offering.display_text,
        "cpunumber": offering.cpu,
        "cpuspeed": offering.speed,
        "memory": offering.ram_size,
        "created": offering.created,
        "storagetype": offering.storage_type,
        "offerha": offering.ha_enabled,
        "limitcpuuse": offering.limit_cpu_use,
        "tags": offering.tags,
        "domainid": domain_uuid,
        "domain": domain_name,
        "hosttags": offering.host_tag,
        "issystem": offering.system_use,
        "defaultuse": offering.default_use,
        "systemvmtype": offering.vm_type,
        "networkrate": offering.nw_rate,
    }


def disk_offering_fields(
    offering: DiskOffering, domain_uuid: str | None, domain_name: str | None
) -> Fields:
    """A ``DiskOfferingResponse`` (object name ``diskoffering``); ``disksize`` in GB
    (0 for a customized offering), as 4.1 shows it."""
    return {
        "id": offering.uuid,
        "domainid": domain_uuid,
        "domain": domain_name,
        "name": offering.name,
        "displaytext": offering.display_text,
        "disksize": offering.disk_size // GIB,
        "created": offering.created,
        "iscustomized": offering.customized,
        "tags": offering.tags,
        "storagetype": offering.storage_type,
    }
