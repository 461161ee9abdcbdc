"""The placement hook module: its global settings, and the admin-only cumulo extension
``explainVirtualMachinePlacement`` (not in CloudStack 4.1).

``explainVirtualMachinePlacement`` takes what ``deployVirtualMachine`` takes for
placement (zone, service offering, template, disk offering, an admin's host, the owner
by ``account`` + ``domainid``) and answers the decision placement would make — planner,
filters, weighers, how many hosts each filter eliminated and why, the hosts in the order
they would be tried with their pools — without deploying or claiming anything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cumulo import hookimpl
from cumulo.placement.request import PlacementExplanation, PlacementRequest
from cumulo.placement.settings import PLACEMENT_KEYS
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Call, Command, ObjectResult, Param, ParamType, Role
from cumulo.sdk.errors import InvalidParameterValue

GB = 1024**3
MB = 1024**2

EXPLAIN_FIELDS = (
    "zoneid", "account", "domainid", "planner", "filters", "weighers", "hostsinscope",
    "cpurequired", "memoryrequired", "rootdisksize", "datadisksize", "eliminated",
    "plan", "hostid", "hostname", "deployable", "summary", "unexamined",
)  # fmt: skip


def _tags(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(",") if t.strip())


def _request(call: Call) -> tuple[PlacementRequest, Any, Any]:
    """The placement request ``deployVirtualMachine`` would make with these parameters,
    with the zone and the owner."""
    from cumulo.infra.hosts.lookup import find_host
    from cumulo.infra.lookup import find_zone
    from cumulo.keypairs.owner import finalize_owner
    from cumulo.offerings.lookup import disk_offering_for, service_offering_for
    from cumulo.templates.lookup import template_for_deploy

    session = call.session
    zone = find_zone(session, call.params["zoneid"], "zoneid")
    domain = None
    if call.get("domainid") is not None:
        from cumulo.accounts.commands.support import domain_param

        domain = domain_param(call, "domainid")
    owner = finalize_owner(call.ctx, session, call.get("account"), domain)
    offering = service_offering_for(session, call.ctx, call.params["serviceofferingid"])
    template = None
    if call.get("templateid") is not None:
        template = template_for_deploy(session, call.ctx, call.params["templateid"], zone.id)
    disk_bytes, disk_local = 0, False
    disk_tags: tuple[str, ...] = ()
    if call.get("diskofferingid") is not None:
        disk = disk_offering_for(session, call.ctx, call.params["diskofferingid"])
        disk_bytes = int(disk.disk_size or 0)
        if disk.customized or not disk_bytes:
            size = call.get("size")
            if size is None or int(size) <= 0:
                raise InvalidParameterValue(
                    "size: a customized disk offering needs a size in GB greater than 0"
                )
            disk_bytes = int(size) * GB
        disk_tags, disk_local = _tags(disk.tags), bool(disk.use_local_storage)
    host_id = None
    if call.get("hostid") is not None:
        host_id = find_host(session, call.params["hostid"], "hostid").id
    hypervisor = call.get("hypervisor") or (template.hypervisor_type if template else None)
    root_bytes = 0
    if template is not None and not template.is_iso:
        root_bytes = int(template.size or 0)
    elif template is not None:
        # An ISO boots from the disk offering's volume: it becomes the root disk.
        root_bytes, disk_bytes = disk_bytes, 0
    request = PlacementRequest(
        zone_id=zone.id,
        account_id=owner.id,
        domain_id=owner.domain_id,
        cpu=offering.cpu,
        speed=offering.speed,
        memory_mb=offering.ram_size,
        host_tag=offering.host_tag or None,
        storage_tags=_tags(offering.tags),
        use_local_storage=bool(offering.use_local_storage),
        ha_enabled=bool(offering.ha_enabled),
        hypervisor=hypervisor,
        planner=offering.deployment_planner or None,
        root_disk_bytes=root_bytes,
        data_disk_bytes=disk_bytes,
        data_disk_tags=disk_tags,
        data_disk_local=disk_local,
        host_id=host_id,
    )
    return request, zone, owner


def _names(call: Call, explanation: PlacementExplanation) -> dict[tuple[str, int], tuple[str, str]]:
    """Public ids and names of the pods, clusters and pools in the plan; one statement
    per kind present."""
    from cumulo.infra.hosts.models import Cluster
    from cumulo.infra.models import Pod
    from cumulo.infra.storage.models import StoragePool

    wanted: dict[str, set[int]] = {"pod": set(), "cluster": set(), "pool": set()}
    for host in explanation.plan:
        wanted["pod"].add(host.pod_id)
        wanted["cluster"].add(host.cluster_id)
        wanted["pool"].update(host.pools)
    found: dict[tuple[str, int], tuple[str, str]] = {}
    for kind, model in (("pod", Pod), ("cluster", Cluster), ("pool", StoragePool)):
        if wanted[kind]:
            rows = call.session.execute(
                select(model.id, model.uuid, model.name).where(model.id.in_(wanted[kind]))
            )
            for row_id, uuid, name in rows:
                found[(kind, row_id)] = (uuid, name)
    return found


def _plan(call: Call, explanation: PlacementExplanation) -> list[dict[str, Any]]:
    names = _names(call, explanation)
    rows = []
    for host in explanation.plan:
        pod, cluster = names[("pod", host.pod_id)], names[("cluster", host.cluster_id)]
        rows.append(
            {
                "hostid": host.uuid,
                "hostname": host.name,
                "podid": pod[0],
                "podname": pod[1],
                "clusterid": cluster[0],
                "clustername": cluster[1],
                "hypervisor": host.hypervisor_type,
                "cpufree": host.free_cpu_mhz,
                "memoryfree": host.free_memory_bytes,
                "storage": [
                    {"id": names[("pool", p)][0], "name": names[("pool", p)][1]} for p in host.pools
                ],
            }
        )
    return rows


def _explain(call: Call) -> ObjectResult:
    from cumulo.placement.service import explain

    request, zone, owner = _request(call)
    runtime = call.services.get("runtime")
    config = runtime.config_store(call.session) if runtime is not None else None
    explanation = explain(call.session, request, config=config)
    chosen = explanation.chosen
    fields: dict[str, Any] = {
        "zoneid": zone.uuid,
        "account": owner.account_name,
        "domainid": call.get("domainid") or None,
        "planner": explanation.planner,
        "filters": ",".join(explanation.filters),
        "weighers": ",".join(explanation.weighers),
        "hostsinscope": explanation.hosts_in_zone,
        "cpurequired": explanation.cpu_mhz,
        "memoryrequired": explanation.memory_bytes,
        "rootdisksize": request.root_disk_bytes,
        "datadisksize": request.data_disk_bytes,
        "eliminated": [
            {"stage": e.stage, "filter": e.component, "reason": e.reason, "count": e.count}
            for e in explanation.eliminations
        ],
        "plan": _plan(call, explanation),
        "hostid": chosen.uuid if chosen else None,
        "hostname": chosen.name if chosen else None,
        "deployable": chosen is not None,
        "summary": (f"would deploy on host {chosen.name}" if chosen else explanation.summary()),
        "unexamined": explanation.unexamined,
    }
    return ObjectResult("placement", fields)


def _uuid(name: str, entity: str, description: str, required: bool = False) -> Param:
    return Param(name, ParamType.UUID, description=description, required=required, entity=entity)


EXPLAIN_PLACEMENT = Command(
    name="explainVirtualMachinePlacement",
    handler=_explain,
    params=(
        _uuid("zoneid", "Zone", "the zone to deploy in", required=True),
        _uuid("serviceofferingid", "ServiceOffering", "the service offering", required=True),
        _uuid("templateid", "VirtualMachineTemplate", "the template or ISO (optional)"),
        _uuid("diskofferingid", "DiskOffering", "the disk offering of a data disk"),
        Param("size", ParamType.LONG, description="data disk size in GB (customized offering)"),
        _uuid("hostid", "Host", "the host an admin would deploy on"),
        Param("hypervisor", description="the hypervisor (default: the template's)"),
        Param("account", description="the owner's account name (with domainid)"),
        _uuid("domainid", "Domain", "the owner's domain (with account)"),
    ),
    roles=Role.ADMIN,
    response_name="explainvirtualmachineplacementresponse",
    response_class="PlacementExplanationResponse",
    response_fields=EXPLAIN_FIELDS,
    description=(
        "(cumulo extension) Shows where deployVirtualMachine would place a VM with these "
        "parameters, and how many hosts each filter eliminated and why, without deploying."
    ),
    since="cumulo-0.1",
)

COMMANDS: tuple[Command, ...] = (EXPLAIN_PLACEMENT,)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """The placement settings (:data:`cumulo.placement.settings.PLACEMENT_KEYS`)."""
    return list(PLACEMENT_KEYS)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """``explainVirtualMachinePlacement``."""
    return list(COMMANDS)
