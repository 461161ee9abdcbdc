"""The 4.1 primary storage commands: createStoragePool, updateStoragePool,
deleteStoragePool, listStoragePools, enableStorageMaintenance (async),
cancelStorageMaintenance (async)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from cumulo.accounts.validation import details_map
from cumulo.events import record
from cumulo.infra.hosts.lookup import find_cluster
from cumulo.infra.hosts.models import Cluster
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage import pools, urls, views
from cumulo.infra.storage.commands.support import PAGING, paging, secrets, warn
from cumulo.infra.storage.listing import PoolFilter, list_pools
from cumulo.infra.storage.lookup import find_pool
from cumulo.infra.storage.models import StoragePool
from cumulo.infra.storage.tags import pool_tags
from cumulo.sdk.api import (
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)

OBJECT = "storagepool"
RESOURCE = "StoragePool"
_PACKAGE = "org.apache.cloudstack.api.command.admin.storage"


def _answer(call: Call, pool: StoragePool) -> ObjectResult:
    """One pool as the ``storagepool`` object (its parents read by id)."""
    session = call.session
    zone = session.get(Zone, pool.data_center_id)
    assert zone is not None  # a foreign key
    pod = session.get(Pod, pool.pod_id) if pool.pod_id is not None else None
    cluster = session.get(Cluster, pool.cluster_id) if pool.cluster_id is not None else None
    tags = pool_tags(session, [pool.id])[pool.id]
    return ObjectResult(OBJECT, views.pool_fields(pool, zone, pod, cluster, tags))


def _create(call: Call) -> ObjectResult:
    session = call.session
    change = pools.create_pool(
        session,
        zone=find_zone(session, call.params["zoneid"]),
        pod=find_pod(session, call.params["podid"]),
        cluster=find_cluster(session, call.params["clusterid"]),
        name=call.params["name"],
        url=call.params["url"],
        tags=call.get("tags"),
        details=details_map(call.get("details"), "details") or {},
        secrets=secrets(call),
    )
    pool = change.pool
    record(
        call,
        "STORAGE.POOL.CREATE",
        f"Added {pool.pool_type} primary storage '{pool.name}' at"
        f" {urls.masked(call.params['url'])}",
        resource_type=RESOURCE,
        resource_uuid=pool.uuid,
    )
    warn(
        call,
        "STORAGE.POOL.CREATE",
        [pools.DATA_LOSS_WARNING, *change.warnings],
        resource_type=RESOURCE,
        uuid=pool.uuid,
    )
    return _answer(call, pool)


def _update(call: Call) -> ObjectResult:
    pool = find_pool(call.session, call.params["id"])
    change = pools.update_pool_tags(call.session, pool, call.get("tags"))
    record(
        call,
        "STORAGE.POOL.UPDATE",
        f"Updated the tags of primary storage '{pool.name}'",
        resource_type=RESOURCE,
        resource_uuid=pool.uuid,
    )
    warn(call, "STORAGE.POOL.UPDATE", change.warnings, resource_type=RESOURCE, uuid=pool.uuid)
    return _answer(call, pool)


def _delete(call: Call) -> SuccessResult:
    pool = find_pool(call.session, call.params["id"])
    pools.delete_pool(call.session, pool, forced=bool(call.get("forced", False)))
    record(
        call,
        "STORAGE.POOL.DELETE",
        f"Deleted primary storage '{pool.name}'",
        resource_type=RESOURCE,
        resource_uuid=pool.uuid,
    )
    return SuccessResult()


def _internal_id(call: Call, param: str, finder: Callable[..., Any]) -> int | None:
    """The internal id of the object filter ``param`` names (431 if none)."""
    value = call.get(param)
    return None if value is None else int(finder(call.session, value, param).id)


def _list(call: Call) -> ListResult:
    internal = partial(_internal_id, call)
    where = PoolFilter(
        id=internal("id", find_pool),
        zone_id=internal("zoneid", find_zone),
        pod_id=internal("podid", find_pod),
        cluster_id=internal("clusterid", find_cluster),
        name=call.get("name"),
        ip_address=call.get("ipaddress"),
        path=call.get("path"),
        keyword=call.get("keyword"),
    )
    rows, total = list_pools(call.session, where, **paging(call))
    items = [views.pool_fields(r.pool, r.zone, r.pod, r.cluster, r.tags) for r in rows]
    return ListResult(OBJECT, items, total)


def _enable_maintenance(call: Call) -> ObjectResult:
    pool = pools.enable_maintenance(call.session, find_pool(call.session, call.params["id"]))
    record(
        call,
        "MAINT.PREPARE.PS",
        f"Primary storage '{pool.name}' is in maintenance",
        resource_type=RESOURCE,
        resource_uuid=pool.uuid,
    )
    return _answer(call, pool)


def _cancel_maintenance(call: Call) -> ObjectResult:
    pool = pools.cancel_maintenance(call.session, find_pool(call.session, call.params["id"]))
    record(
        call,
        "MAINT.CANCEL.PS",
        f"Primary storage '{pool.name}' left maintenance",
        resource_type=RESOURCE,
        resource_uuid=pool.uuid,
    )
    return _answer(call, pool)


_POOL_ID = Param(
    "id", ParamType.UUID, description="the Id of the storage pool", required=True, entity=RESOURCE
)

COMMANDS = (
    Command(
        name="createStoragePool",
        handler=_create,
        params=(
            Param(
                "clusterid",
                ParamType.UUID,
                description="the cluster ID for the storage pool",
                required=True,
                entity="Cluster",
            ),
            Param("details", ParamType.MAP, description="the details for the storage pool"),
            Param("name", description="the name for the storage pool", required=True),
            Param(
                "podid",
                ParamType.UUID,
                description="the Pod ID for the storage pool",
                required=True,
                entity="Pod",
            ),
            Param("tags", description="the tags for the storage pool"),
            Param("url", description="the URL of the storage pool", required=True),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the storage pool",
                required=True,
                entity="Zone",
            ),
        ),
        roles=Role.ADMIN,
        response_name="createstoragepoolresponse",
        response_class="StoragePoolResponse",
        response_fields=views.STORAGE_POOL_FIELDS,
        description=f"Creates a storage pool. {pools.DATA_LOSS_WARNING}",
        related=("listStoragePools", "cancelStorageMaintenance"),
        java_class=f"{_PACKAGE}.CreateStoragePoolCmd",
        event_type="STORAGE.POOL.CREATE",
    ),
    Command(
        name="updateStoragePool",
        handler=_update,
        params=(
            _POOL_ID,
            Param(
                "tags",
                ParamType.LIST,
                description="comma-separated list of tags for the storage pool",
                item_type=ParamType.STRING,
            ),
        ),
        roles=Role.ADMIN,
        response_name="updatestoragepoolresponse",
        response_class="StoragePoolResponse",
        response_fields=views.STORAGE_POOL_FIELDS,
        description="Updates a storage pool.",
        since="3.0.0",
        related=("listStoragePools", "createStoragePool", "cancelStorageMaintenance"),
        java_class=f"{_PACKAGE}.UpdateStoragePoolCmd",
        event_type="STORAGE.POOL.UPDATE",
    ),
    Command(
        name="deleteStoragePool",
        handler=_delete,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="Storage pool id",
                required=True,
                entity=RESOURCE,
            ),
            Param(
                "forced",
                ParamType.BOOLEAN,
                description=(
                    "Force destroy storage pool (force expunge volumes in Destroyed state as"
                    " a part of pool removal)"
                ),
            ),
        ),
        roles=Role.ADMIN,
        response_name="deletestoragepoolresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a storage pool.",
        java_class=f"{_PACKAGE}.DeletePoolCmd",
        event_type="STORAGE.POOL.DELETE",
    ),
    Command(
        name="listStoragePools",
        handler=_list,
        params=(
            Param(
                "clusterid",
                ParamType.UUID,
                description="list storage pools belongig to the specific cluster",
                entity="Cluster",
            ),
            Param("ipaddress", description="the IP address for the storage pool"),
            Param("name", description="the name of the storage pool"),
            Param("path", description="the storage pool path"),
            Param(
                "podid", ParamType.UUID, description="the Pod ID for the storage pool", entity="Pod"
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the storage pool",
                entity="Zone",
            ),
            Param("id", ParamType.UUID, description="the ID of the storage pool", entity=RESOURCE),
            *PAGING,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="liststoragepoolsresponse",
        response_class="StoragePoolResponse",
        response_fields=views.STORAGE_POOL_FIELDS,
        description="Lists storage pools.",
        related=("cancelStorageMaintenance",),
        java_class=f"{_PACKAGE}.ListStoragePoolsCmd",
    ),
    Command(
        name="enableStorageMaintenance",
        handler=_enable_maintenance,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="Primary storage ID",
                required=True,
                entity=RESOURCE,
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="prepareprimarystorageformaintenanceresponse",
        response_class="StoragePoolResponse",
        response_fields=views.STORAGE_POOL_FIELDS,
        description="Puts storage pool into maintenance state",
        related=(
            "listStoragePools",
            "createStoragePool",
            "updateStoragePool",
            "cancelStorageMaintenance",
        ),
        java_class=f"{_PACKAGE}.PreparePrimaryStorageForMaintenanceCmd",
        instance_type=RESOURCE,
        event_type="MAINT.PREPARE.PS",
    ),
    Command(
        name="cancelStorageMaintenance",
        handler=_cancel_maintenance,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the primary storage ID",
                required=True,
                entity=RESOURCE,
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="cancelprimarystoragemaintenanceresponse",
        response_class="StoragePoolResponse",
        response_fields=views.STORAGE_POOL_FIELDS,
        description="Cancels maintenance for primary storage",
        java_class=f"{_PACKAGE}.CancelPrimaryStorageMaintenanceCmd",
        instance_type=RESOURCE,
        event_type="MAINT.CANCEL.PS",
    ),
)
