"""Storage tags and the zone-wide rule that every cluster offers the same ones.

REQ-PS-03: "the set of primary-storage tags MUST be identical across all clusters in a
zone", validated when storage is added or re-tagged. A cluster's tag set is the union
of the tags of its shared pools. Read literally the rule can never be met one request
at a time: pools are added one by one, so the second cluster of a zone is always
incomplete for a while, and a new tag can only ever reach one cluster first. cumulo
therefore enforces the part that catches mistakes and lets the sets converge:

- a change is **refused** (431 naming ``tags``) when the cluster it touches would then
  hold a tag that the other clusters of the zone do not offer *and* lack a tag they do
  offer — its set would be neither within nor a superset of theirs, i.e. it diverges
  rather than converges (a typo such as ``SDD`` for ``SSD`` is caught here);
- a change that leaves the sets different but converging (a cluster still being
  filled, or the first cluster to receive a new zone-wide tag) is **allowed**, and
  :func:`check_zone_tags` returns the differences so the service records a ``WARN``
  event naming what is still missing.

Only shared (``CLUSTER`` scope) pools count: host-local storage is not part of the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.infra.storage.models import PoolScope, StoragePool, StoragePoolTag
from cumulo.sdk.errors import InvalidParameterValue

TAGS_PARAM = "tags"
MAX_TAG_LENGTH = 255


def normalise_tags(values: Iterable[str] | str | None) -> list[str]:
    """Tags as stored: split on commas (a string), stripped, empty ones dropped,
    duplicates removed, first occurrence order kept.

    :raises InvalidParameterValue: a tag longer than 255 characters (431 naming ``tags``).
    """
    if values is None:
        return []
    items = values.split(",") if isinstance(values, str) else list(values)
    tags = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidParameterValue(
                f"{TAGS_PARAM}: the tag '{tag[:40]}...' is longer than {MAX_TAG_LENGTH} characters"
            )
    return tags


def pool_tags(session: Session, pool_ids: Iterable[int]) -> dict[int, list[str]]:
    """Tags of the given pools, by pool id, in one statement (sorted per pool)."""
    ids = list(pool_ids)
    found: dict[int, list[str]] = {pool_id: [] for pool_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(StoragePoolTag.pool_id, StoragePoolTag.tag)
        .where(StoragePoolTag.pool_id.in_(ids))
        .order_by(StoragePoolTag.pool_id, StoragePoolTag.tag)
    )
    for pool_id, tag in rows:
        found[pool_id].append(tag)
    return found


def _cluster_sets(
    session: Session, zone_id: int, pool_id: int | None, cluster_id: int, tags: list[str]
) -> dict[int, set[str]]:
    """Each storage-holding cluster's tag set in the zone, as it would be after giving
    pool ``pool_id`` (``None``: a new pool of ``cluster_id``) the tags ``tags``."""
    rows = session.execute(
        select(StoragePool.id, StoragePool.cluster_id, StoragePoolTag.tag)
        .outerjoin(StoragePoolTag, StoragePoolTag.pool_id == StoragePool.id)
        .where(
            StoragePool.data_center_id == zone_id,
            StoragePool.removed.is_(None),
            StoragePool.scope == PoolScope.CLUSTER.value,
            StoragePool.cluster_id.is_not(None),
        )
    )
    sets: dict[int, set[str]] = {}
    for row_pool, row_cluster, tag in rows:
        if row_cluster is None:  # excluded by the query; narrows the type
            continue
        bucket = sets.setdefault(row_cluster, set())
        if tag is not None and row_pool != pool_id:
            bucket.add(tag)
    sets.setdefault(cluster_id, set()).update(tags)
    return sets


def check_zone_tags(
    session: Session,
    *,
    zone_id: int,
    cluster_id: int,
    tags: list[str],
    pool_id: int | None = None,
    cluster_names: Mapping[int, str] | None = None,
) -> list[str]:
    """Apply REQ-PS-03 (this module's docstring) to a pool about to get ``tags``.

    :param pool_id: the pool being re-tagged, ``None`` for a pool being added.
    :param cluster_names: names for messages (falls back to internal ids).
    :return: what would still differ between clusters afterwards (empty: identical);
        one line per cluster missing tags, for a warning event.
    :raises InvalidParameterValue: the cluster's set would diverge (431 naming ``tags``).
    """
    sets = _cluster_sets(session, zone_id, pool_id, cluster_id, tags)
    mine = sets.pop(cluster_id)
    if not sets:
        return []
    names = cluster_names or {}
    zone_tags = set().union(*sets.values())
    within = mine <= zone_tags
    leading = all(mine >= other for other in sets.values())
    if not (within or leading):
        raise InvalidParameterValue(
            f"{TAGS_PARAM}: the primary storage tags of every cluster of a zone must be the"
            f" same (REQ-PS-03): this cluster would offer {_listed(mine)} but lacks"
            f" {_listed(zone_tags - mine)}, which other clusters of the zone offer, while"
            f" {_listed(mine - zone_tags)} is offered by no other cluster"
        )
    everything = zone_tags | mine
    missing = []
    for other, other_set in sorted({**sets, cluster_id: mine}.items()):
        lacking = everything - other_set
        if lacking:
            missing.append(f"cluster {names.get(other, other)} lacks {_listed(lacking)}")
    return missing


def _listed(tags: Iterable[str]) -> str:
    ordered = sorted(tags)
    return "[" + ", ".join(ordered) + "]" if ordered else "no tags"
