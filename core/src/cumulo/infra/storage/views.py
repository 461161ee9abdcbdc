"""Response views: storage pools, secondary storage and Swift as 4.1 answers them.

Field names and order are those of 4.1's ``StoragePoolResponse`` and ``SwiftResponse``
(response-fields-4.1.tsv), plus ``scope`` (``CLUSTER`` or ``HOST``) on pools, which
CloudStack 4.2 added to tell host-local pools from shared ones; clients of 4.1 ignore
it. Views are pure: they read loaded rows and never query. Secrets (RBD credentials,
the Swift key) are never part of an answer.
"""

from __future__ import annotations

from cumulo.infra.hosts.models import Cluster
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage.models import StoragePool, Swift
from cumulo.sdk.api import Fields

STORAGE_POOL_FIELDS = (
    "id",
    "zoneid",
    "zonename",
    "podid",
    "podname",
    "name",
    "ipaddress",
    "path",
    "created",
    "type",
    "clusterid",
    "clustername",
    "disksizetotal",
    "disksizeallocated",
    "disksizeused",
    "tags",
    "state",
    "scope",
)
# 4.1's SwiftResponse declares ``account`` twice (account and username); the user name
# is shown as ``username`` here so that neither value hides the other.
SWIFT_FIELDS = ("id", "url", "created", "account", "username")


def pool_fields(
    pool: StoragePool,
    zone: Zone,
    pod: Pod | None,
    cluster: Cluster | None,
    tags: list[str],
) -> Fields:
    """A ``StoragePoolResponse``.

    :param tags: the pool's tags; shown comma-joined, left out when there are none.
    ``disksizeallocated`` is what volumes reserve (``allocated_bytes``, claimed by
    placement), ``disksizeused`` what the driver last reported.
    """
    return {
        "id": pool.uuid,
        "zoneid": zone.uuid,
        "zonename": zone.name,
        "podid": pod.uuid if pod is not None else None,
        "podname": pod.name if pod is not None else None,
        "name": pool.name,
        "ipaddress": pool.host_address,
        "path": pool.path,
        "created": pool.created,
        "type": pool.pool_type,
        "clusterid": cluster.uuid if cluster is not None else None,
        "clustername": cluster.name if cluster is not None else None,
        "disksizetotal": pool.capacity_bytes,
        "disksizeallocated": pool.allocated_bytes or 0,
        "disksizeused": pool.used_bytes,
        "tags": ",".join(tags) if tags else None,
        "state": pool.status,
        "scope": pool.scope,
    }


def swift_fields(swift: Swift) -> Fields:
    """A ``SwiftResponse`` (object name ``swift``); the key is never shown."""
    return {
        "id": swift.uuid,
        "url": swift.url,
        "created": swift.created,
        "account": swift.account,
        "username": swift.username,
    }
