"""The 4.1 snapshot commands: createSnapshot (async create), listSnapshots,
deleteSnapshot (async), createSnapshotPolicy, listSnapshotPolicies,
deleteSnapshotPolicies."""

from __future__ import annotations

from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.accounts.lookup import invalid_id
from cumulo.events import record
from cumulo.infra.commands.support import created_uuid
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    SuccessResult,
)
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.templates.registration import owner_account
from cumulo.volumes import policies, snapshots, views
from cumulo.volumes.lookup import find_policy, find_snapshot, find_volume
from cumulo.volumes.models import Volume
from cumulo.volumes.snapshot_listing import SnapshotFilter, list_snapshots
from cumulo.volumes.snapshot_models import Snapshot, SnapshotPolicy
from cumulo.volumes.support import keys, list_scope, paging, setting_int

OBJECT = "snapshot"
RESOURCE = "Snapshot"
_PACKAGE = "org.apache.cloudstack.api.command.user.snapshot"


def _secrets(call: Call) -> snapshots.Secrets:
    key, algorithm = keys(call)
    return snapshots.Secrets(key, algorithm)


def _snapshot_answer(call: Call, snapshot: Snapshot) -> ObjectResult:
    rows, _ = list_snapshots(
        call.session,
        SnapshotFilter(scope=Snapshot.id == snapshot.id, id=snapshot.id, snapshot_type=None),
        pagesize=-1,
    )
    if not rows:  # a TEMPLATE snapshot would not list; none are made
        raise invalid_id("id", snapshot.uuid)
    return ObjectResult(OBJECT, views.snapshot_fields(rows[0]))


# ---- createSnapshot -------------------------------------------------------------------------


def _create_allocate(call: Call) -> tuple[str, str]:
    session = call.session
    volume = find_volume(session, call.ctx, call.params["volumeid"], "volumeid")
    if call.get("account") is not None or call.get("domainid") is not None:
        owner = owner_account(call.ctx, session, call.get("account"), call.get("domainid"))
        if owner.id != volume.account_id:
            raise InvalidParameterValue(
                f"account: volume {volume.uuid} does not belong to account {owner.account_name}"
            )
    policy = None
    if call.get("policyid") is not None:
        policy, policy_volume = find_policy(session, call.ctx, call.get("policyid"), "policyid")
        if policy_volume.id != volume.id:
            raise InvalidParameterValue(
                f"policyid: policy {policy.uuid} is not a policy of volume {volume.uuid}"
            )
    snapshot = snapshots.allocate(session, volume, policy=policy)
    return RESOURCE, snapshot.uuid


def _create(call: Call) -> ObjectResult:
    snapshot = find_snapshot(call.session, call.ctx, created_uuid(call))
    taken = snapshots.take(call.session, snapshot.id, _secrets(call), record_on=lambda _: call)
    return _snapshot_answer(call, taken)


def _delete(call: Call) -> SuccessResult:
    snapshot = find_snapshot(call.session, call.ctx, call.params["id"])
    snapshots.delete(call.session, snapshot, _secrets(call))
    record(
        call,
        "SNAPSHOT.DELETE",
        f"Deleted snapshot {snapshot.name}",
        resource_type=RESOURCE,
        resource_uuid=snapshot.uuid,
        account_id=snapshot.account_id,
        domain_id=snapshot.domain_id,
    )
    return SuccessResult()


def _list(call: Call) -> ListResult:
    session = call.session
    snapshot_id = volume_id = None
    if call.get("id") is not None:
        snapshot_id = find_snapshot(session, call.ctx, call.get("id")).id
    if call.get("volumeid") is not None:
        volume_id = find_volume(session, call.ctx, call.get("volumeid"), "volumeid").id
    rows, total = list_snapshots(
        session,
        SnapshotFilter(
            scope=list_scope(call),
            id=snapshot_id,
            volume_id=volume_id,
            name=call.get("name"),
            snapshot_type=call.get("snapshottype"),
            interval_type=call.get("intervaltype"),
            keyword=call.get("keyword"),
            nothing=call.get("projectid") is not None or bool(call.get("tags")),
        ),
        **paging(call),
    )
    return ListResult(OBJECT, [views.snapshot_fields(row) for row in rows], total)


# ---- snapshot policies ---------------------------------------------------------------------------


def _create_policy(call: Call) -> ObjectResult:
    session = call.session
    volume = find_volume(session, call.ctx, call.params["volumeid"], "volumeid")
    interval = policies.interval_of(call.params["intervaltype"])
    policy, created = policies.create_or_update(
        session,
        volume,
        interval=interval,
        schedule=call.params["schedule"],
        timezone=call.params["timezone"],
        max_snaps=int(call.params["maxsnaps"]),
        max_allowed=setting_int(
            call, policies.MAX_SNAPS_KEYS[interval], policies.DEFAULT_MAX_SNAPS
        ),
    )
    record(
        call,
        "SNAPSHOTPOLICY.CREATE" if created else "SNAPSHOTPOLICY.UPDATE",
        f"{'Created' if created else 'Updated'} the {interval.name} snapshot policy of volume"
        f" {volume.name}",
        resource_type="SnapshotPolicy",
        resource_uuid=policy.uuid,
        account_id=volume.account_id,
        domain_id=volume.domain_id,
    )
    return ObjectResult("snapshotpolicy", views.policy_fields(policy, volume.uuid))


def _list_policies(call: Call) -> ListResult:
    volume = find_volume(call.session, call.ctx, call.params["volumeid"], "volumeid")
    found, total = policies.list_policies(call.session, volume, **paging(call))
    return ListResult(
        "snapshotpolicy", [views.policy_fields(policy, volume.uuid) for policy in found], total
    )


def _delete_policies(call: Call) -> SuccessResult:
    session = call.session
    single, many = call.get("id"), call.get("ids")
    if (single is None) == (not many):
        raise InvalidParameterValue("id: give either the policy id or the list of ids (ids)")
    values = [single] if single is not None else list(many)
    found: list[tuple[SnapshotPolicy, Volume]] = [
        find_policy(session, call.ctx, value, "id" if single is not None else "ids")
        for value in values
    ]
    policies.delete_policies(session, [policy for policy, _ in found])
    for policy, volume in found:
        record(
            call,
            "SNAPSHOTPOLICY.DELETE",
            f"Deleted the {policy.interval} snapshot policy of volume {volume.name}",
            resource_type="SnapshotPolicy",
            resource_uuid=policy.uuid,
            account_id=volume.account_id,
            domain_id=volume.domain_id,
        )
    return SuccessResult()


# ---- declarations ------------------------------------------------------------------------------

COMMANDS = (
    Command(
        name="createSnapshot",
        handler=_create,
        params=(
            Param(
                "account",
                description=(
                    "The account of the snapshot. The account parameter must be used with the "
                    "domainId parameter."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "The domain ID of the snapshot. If used with the account parameter, specifies a"
                    " domain for the account associated with the disk volume."
                ),
                entity="Domain",
            ),
            Param(
                "volumeid",
                ParamType.UUID,
                description="The ID of the disk volume",
                required=True,
                entity="Volume",
            ),
            Param(
                "policyid",
                ParamType.UUID,
                description="policy id of the snapshot, if this is null, then use MANUAL_POLICY.",
                entity="SnapshotPolicy",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createsnapshotresponse",
        response_class="SnapshotResponse",
        response_fields=views.SNAPSHOT_FIELDS,
        description="Creates an instant snapshot of a volume.",
        related=("listSnapshots",),
        java_class=f"{_PACKAGE}.CreateSnapshotCmd",
        create=_create_allocate,
        instance_type=RESOURCE,
        event_type="SNAPSHOT.CREATE",
    ),
    Command(
        name="listSnapshots",
        handler=_list,
        params=(
            Param(
                "id", ParamType.UUID, description="lists snapshot by snapshot ID", entity="Snapshot"
            ),
            Param(
                "intervaltype", description="valid values are HOURLY, DAILY, WEEKLY, and MONTHLY."
            ),
            Param("name", description="lists snapshot by snapshot name"),
            Param("snapshottype", description="valid values are MANUAL or RECURRING."),
            Param(
                "volumeid", ParamType.UUID, description="the ID of the disk volume", entity="Volume"
            ),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            Param(
                "projectid", ParamType.UUID, description="list objects by project", entity="Project"
            ),
            Param(
                "account",
                description="list resources by account. Must be used with the domainId parameter.",
            ),
            LISTALL,
            LIST_DOMAIN,
            ISRECURSIVE,
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listsnapshotsresponse",
        response_class="SnapshotResponse",
        response_fields=views.SNAPSHOT_FIELDS,
        description="Lists all available snapshots for the account.",
        java_class=f"{_PACKAGE}.ListSnapshotsCmd",
    ),
    Command(
        name="deleteSnapshot",
        handler=_delete,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the snapshot",
                required=True,
                entity="Snapshot",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deletesnapshotresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a snapshot of a disk volume.",
        java_class=f"{_PACKAGE}.DeleteSnapshotCmd",
        instance_type=RESOURCE,
        event_type="SNAPSHOT.DELETE",
    ),
    Command(
        name="createSnapshotPolicy",
        handler=_create_policy,
        params=(
            Param(
                "intervaltype",
                description="valid values are HOURLY, DAILY, WEEKLY, and MONTHLY",
                required=True,
            ),
            Param(
                "maxsnaps",
                ParamType.INTEGER,
                description="maximum number of snapshots to retain",
                required=True,
            ),
            Param(
                "schedule",
                description=(
                    "time the snapshot is scheduled to be taken. Format is:* if HOURLY, MM* if "
                    "DAILY, MM:HH* if WEEKLY, MM:HH:DD (1-7)* if MONTHLY, MM:HH:DD (1-28)"
                ),
                required=True,
            ),
            Param(
                "timezone",
                description=(
                    "Specifies a timezone for this command. For more information on the timezone "
                    "parameter, see Time Zone Format."
                ),
                required=True,
            ),
            Param(
                "volumeid",
                ParamType.UUID,
                description="the ID of the disk volume",
                required=True,
                entity="Volume",
            ),
        ),
        roles=ALL_ROLES,
        response_name="createsnapshotpolicyresponse",
        response_class="SnapshotPolicyResponse",
        response_fields=views.POLICY_FIELDS,
        description="Creates a snapshot policy for the account.",
        related=("listSnapshotPolicies",),
        java_class=f"{_PACKAGE}.CreateSnapshotPolicyCmd",
        event_type="SNAPSHOTPOLICY.CREATE",
    ),
    Command(
        name="listSnapshotPolicies",
        handler=_list_policies,
        params=(
            Param(
                "volumeid",
                ParamType.UUID,
                description="the ID of the disk volume",
                required=True,
                entity="Volume",
            ),
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listsnapshotpoliciesresponse",
        response_class="SnapshotPolicyResponse",
        response_fields=views.POLICY_FIELDS,
        description="Lists snapshot policies.",
        java_class=f"{_PACKAGE}.ListSnapshotPoliciesCmd",
    ),
    Command(
        name="deleteSnapshotPolicies",
        handler=_delete_policies,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the Id of the snapshot policy",
                entity="SnapshotPolicy",
            ),
            Param(
                "ids",
                ParamType.LIST,
                description="list of snapshots policy IDs separated by comma",
                item_type=ParamType.UUID,
                entity="SnapshotPolicy",
            ),
        ),
        roles=ALL_ROLES,
        response_name="deletesnapshotpoliciesresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes snapshot policies for the account.",
        java_class=f"{_PACKAGE}.DeleteSnapshotPoliciesCmd",
        event_type="SNAPSHOTPOLICY.DELETE",
    ),
)
