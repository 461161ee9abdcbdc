"""The remote-access VPN commands (CAP-30; 4.1 declarations), contributed as a built-in
plugin (``cumulo.network.vpn.commands`` in ``BUILTIN_PLUGINS``). Importing this module
registers the Vpn rule set with the orchestrator.

Jobs follow :mod:`cumulo.network.rules.applying`: a new VPN or user is committed,
applied (to every VPN of the account, for a user: REQ-RAVPN-04) and removed again if a
provider refuses it; a VPN or user being removed is marked (``Removed``, ``Revoke``),
applied, then deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, delete, false, select, update
from sqlalchemy.orm import Session

from cumulo import events, hookimpl
from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.accounts.commands.support import max_page_size
from cumulo.accounts.models import Account, Domain
from cumulo.compute.owners import resolve_owner, runtime_of
from cumulo.db.listing import fetch_rows
from cumulo.infra.models import UserIpAddress
from cumulo.jobs.models import AsyncJob
from cumulo.network.rules import applying
from cumulo.network.rules.listing import scope
from cumulo.network.rules.lookup import find_public_ip
from cumulo.network.rules.models import NetworkRule, Purpose
from cumulo.network.vpn import rulesets, service, users
from cumulo.network.vpn.models import RemoteAccessVpn, VpnState, VpnUser, VpnUserState
from cumulo.network.vpn.views import (
    USER_FIELDS,
    USER_OBJECT,
    VPN_FIELDS,
    VPN_OBJECT,
    user_fields,
    vpn_fields,
)
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
from cumulo.sdk.network import Service

RULE_SETS = rulesets
"""The module whose import registered the Vpn rule set (kept referenced)."""

_VPN = (Service.FIREWALL, Service.VPN)
_VPN_REMOVAL = (Service.VPN, Service.FIREWALL)
_USERS = (Service.VPN,)


def _no_project(call: Call) -> None:
    if call.get("projectid") is not None:
        raise InvalidParameterValue("projectid: projects are not supported by this server")


# ---- VPNs ---------------------------------------------------------------------------------


def _vpn_select() -> Select[Any]:
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            RemoteAccessVpn.vpn_server_addr_id,
            RemoteAccessVpn.account_id,
            RemoteAccessVpn.network_id,
            RemoteAccessVpn.ip_range,
            RemoteAccessVpn.ipsec_psk,
            RemoteAccessVpn.state,
            UserIpAddress.uuid.label("ip_uuid"),
            UserIpAddress.public_ip_address.label("ip_address"),
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
        )
        .join(UserIpAddress, UserIpAddress.id == RemoteAccessVpn.vpn_server_addr_id)
        .join(Account, Account.id == RemoteAccessVpn.account_id)
        .join(Domain, Domain.id == RemoteAccessVpn.domain_id)
    )
    return stmt


def _vpn_answer(call: Call, row: Any) -> dict[str, Any]:
    psk = None
    if row.account_id == call.ctx.account_id:  # the key is its owner's alone
        key, algorithm = rulesets.secrets_key(call.session)
        psk = rulesets.plain(row.ipsec_psk, key, algorithm, "the VPN's pre-shared key")
    return vpn_fields(row, psk)


def _vpn_rule_ids(session: Session, ip_id: int) -> list[int]:
    """The ``Vpn`` rules of the address and the openings made for them."""
    own = select(NetworkRule.id).where(
        NetworkRule.ip_address_id == ip_id, NetworkRule.purpose == Purpose.VPN.value
    )
    return list(
        session.scalars(
            select(NetworkRule.id).where(NetworkRule.id.in_(own) | NetworkRule.related.in_(own))
        )
    )


def create_vpn_create(call: Call) -> tuple[str, str]:
    """``createRemoteAccessVpn``'s create step (:mod:`.service`)."""
    session = call.session
    runtime = runtime_of(call)
    owner = resolve_owner(call)
    ip = find_public_ip(session, call.ctx, call.params["publicipid"], "publicipid")
    service.create(
        session,
        ip,
        owner_account_id=owner.id,
        iprange=call.get("iprange"),
        open_firewall=call.get("openfirewall"),
        config=runtime.config_store(session),
        database_key=runtime.database_key,
        algorithm=runtime.algorithm,
    )
    return "RemoteAccessVpn", ip.uuid


def create_vpn(call: Call) -> ObjectResult:
    """``createRemoteAccessVpn``'s job: its ports opened, the VPN served, ``Running``."""
    session = applying.prepared(call)
    row = session.execute(
        _vpn_select()
        .join(AsyncJob, AsyncJob.instance_uuid == UserIpAddress.uuid)
        .where(AsyncJob.uuid == (call.job_uuid or ""))
    ).first()
    if row is None:
        raise InvalidParameterValue("publicipid: the VPN this job was to apply no longer exists")
    ip_id = row.vpn_server_addr_id

    def undo(s: Session) -> None:
        s.execute(delete(RemoteAccessVpn).where(RemoteAccessVpn.vpn_server_addr_id == ip_id))

    applying.settle_added(session, row.network_id, _VPN, _vpn_rule_ids(session, ip_id), undo=undo)
    session.execute(
        update(RemoteAccessVpn)
        .where(RemoteAccessVpn.vpn_server_addr_id == ip_id)
        .values(state=VpnState.RUNNING.value)
    )
    events.record(
        call,
        "VPN.REMOTE.ACCESS.CREATE",
        f"Created remote access VPN on {row.ip_address}",
        resource_type="IpAddress",
        resource_uuid=row.ip_uuid,
        account_id=row.account_id,
    )
    row = session.execute(_vpn_select().where(RemoteAccessVpn.vpn_server_addr_id == ip_id)).one()
    return ObjectResult(VPN_OBJECT, _vpn_answer(call, row))


def delete_vpn(call: Call) -> SuccessResult:
    """``deleteRemoteAccessVpn``: ``Removed``, applied, deleted with its rules."""
    session = applying.prepared(call)
    ip = find_public_ip(session, call.ctx, call.params["publicipid"], "publicipid")
    network_id = session.scalar(
        select(RemoteAccessVpn.network_id).where(RemoteAccessVpn.vpn_server_addr_id == ip.id)
    )
    if network_id is None:
        raise InvalidParameterValue(
            f"publicipid: there is no remote access VPN on the IP address {ip.address}"
        )
    where = RemoteAccessVpn.vpn_server_addr_id == ip.id
    session.execute(update(RemoteAccessVpn).where(where).values(state=VpnState.REMOVED.value))
    applying.settle_revoked(session, network_id, _VPN_REMOVAL, _vpn_rule_ids(session, ip.id))
    session.execute(delete(RemoteAccessVpn).where(where))
    events.record(
        call,
        "VPN.REMOTE.ACCESS.DESTROY",
        f"Removed remote access VPN of {ip.address}",
        resource_type="IpAddress",
        resource_uuid=ip.uuid,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
    )
    return SuccessResult()


def list_vpns(call: Call) -> ListResult:
    """``listRemoteAccessVpns`` (the address is required, as in 4.1): one statement."""
    applying.prepared(call)
    ip = find_public_ip(call.session, call.ctx, call.params["publicipid"], "publicipid")
    conditions: list[ColumnElement[bool]] = [
        scope(call),
        RemoteAccessVpn.vpn_server_addr_id == ip.id,
    ]
    if call.get("projectid"):
        conditions.append(false())
    rows, total = fetch_rows(
        call.session,
        _vpn_select().where(*conditions).order_by(RemoteAccessVpn.vpn_server_addr_id),
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    return ListResult(VPN_OBJECT, [_vpn_answer(call, row) for row in rows], total)


# ---- users --------------------------------------------------------------------------------


def _user_select() -> Select[Any]:
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            VpnUser.id,
            VpnUser.uuid,
            VpnUser.username,
            VpnUser.state,
            VpnUser.owner_id,
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
        )
        .join(Account, Account.id == VpnUser.owner_id)
        .join(Domain, Domain.id == VpnUser.domain_id)
    )
    return stmt


def add_user_create(call: Call) -> tuple[str, str]:
    """``addVpnUser``'s create step (:mod:`.users`)."""
    _no_project(call)
    runtime = runtime_of(call)
    owner = resolve_owner(call)
    limit = runtime.config_store(call.session).integer(users.USER_LIMIT_KEY)
    user = users.add(
        call.session,
        owner_id=owner.id,
        domain_id=owner.domain_id,
        owner_name=owner.account_name,
        username=call.params["username"],
        password=call.params["password"],
        limit=8 if limit is None else limit,
        database_key=runtime.database_key,
        algorithm=runtime.algorithm,
    )
    return "VpnUser", user.uuid


def _apply_user_change(session: Session, owner_id: int) -> None:
    for network_id in users.vpn_networks(session, owner_id):
        applying.apply_services(session, network_id, _USERS)


def add_user(call: Call) -> ObjectResult:
    """``addVpnUser``'s job: every VPN of the account serves the user (REQ-RAVPN-04);
    removed again if a provider refuses."""
    session = applying.prepared(call)
    row = session.execute(
        _user_select()
        .join(AsyncJob, AsyncJob.instance_uuid == VpnUser.uuid)
        .where(AsyncJob.uuid == (call.job_uuid or ""))
    ).first()
    if row is None:
        raise InvalidParameterValue("username: the VPN user of this job no longer exists")
    try:
        _apply_user_change(session, row.owner_id)
    except Exception:
        session.rollback()
        session.execute(delete(VpnUser).where(VpnUser.id == row.id))
        session.commit()
        raise
    session.execute(
        update(VpnUser).where(VpnUser.id == row.id).values(state=VpnUserState.ACTIVE.value)
    )
    events.record(
        call,
        "VPN.USER.ADD",
        f"Added VPN user {row.username}",
        resource_type="VpnUser",
        resource_uuid=row.uuid,
        account_id=row.owner_id,
    )
    return ObjectResult(
        USER_OBJECT, user_fields(session.execute(_user_select().where(VpnUser.id == row.id)).one())
    )


def remove_user(call: Call) -> SuccessResult:
    """``removeVpnUser``: ``Revoke``, applied to the account's VPNs, deleted."""
    _no_project(call)
    session = applying.prepared(call)
    owner = resolve_owner(call)
    username = call.params["username"]
    user_id = session.scalar(
        select(VpnUser.id).where(VpnUser.owner_id == owner.id, VpnUser.username == username)
    )
    if user_id is None:
        raise InvalidParameterValue(
            f"username: unable to find VPN user {username} of account {owner.account_name}"
        )
    where = VpnUser.id == user_id
    session.execute(update(VpnUser).where(where).values(state=VpnUserState.REVOKE.value))
    session.commit()
    _apply_user_change(session, owner.id)
    session.execute(delete(VpnUser).where(where))
    events.record(
        call,
        "VPN.USER.REMOVE",
        f"Removed VPN user {username}",
        resource_type="VpnUser",
        account_id=owner.id,
        domain_id=owner.domain_id,
    )
    return SuccessResult()


def list_users(call: Call) -> ListResult:
    """``listVpnUsers``: one statement per page."""
    conditions: list[ColumnElement[bool]] = [scope(call)]
    if call.get("id") is not None:
        conditions.append(VpnUser.uuid == str(call.params["id"]))
    if call.get("username"):
        conditions.append(VpnUser.username == call.params["username"])
    if call.get("keyword"):
        conditions.append(VpnUser.username.contains(call.params["keyword"], autoescape=True))
    if call.get("projectid"):
        conditions.append(false())
    rows, total = fetch_rows(
        call.session,
        _user_select().where(*conditions).order_by(VpnUser.id),
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    return ListResult(USER_OBJECT, [user_fields(row) for row in rows], total)


# ---- declarations ---------------------------------------------------------------------------

_SUCCESS = ("success", "displaytext")
_JAVA = "org.apache.cloudstack.api.command.user.vpn."
_PUBLIC_IP = Param(
    "publicipid",
    ParamType.UUID,
    description="public ip address id of the vpn server",
    required=True,
    entity="IPAddress",
)
_OWNER_LIST = (
    Param("projectid", ParamType.UUID, description="list objects by project", entity="Project"),
    Param(
        "account",
        description="list resources by account. Must be used with the domainId parameter.",
    ),
    LISTALL,
    LIST_DOMAIN,
    ISRECURSIVE,
    *PAGING,
)


def _owner_params(what: str, project: str) -> tuple[Param, ...]:
    return (
        Param(
            "account",
            description=f"an optional account for the {what}. Must be used with domainId.",
        ),
        Param("projectid", ParamType.UUID, description=project, entity="Project"),
        Param(
            "domainid",
            ParamType.UUID,
            description=(
                f"an optional domainId for the {what}. If the account parameter is used, "
                "domainId must also be used."
            ),
            entity="Domain",
        ),
    )


COMMANDS: tuple[Command, ...] = (
    Command(
        name="createRemoteAccessVpn",
        handler=create_vpn,
        params=(
            _PUBLIC_IP,
            Param(
                "iprange",
                description=(
                    "the range of ip addresses to allocate to vpn clients. The first ip in "
                    "the range will be taken by the vpn server"
                ),
            ),
            Param(
                "account",
                description="an optional account for the VPN. Must be used with domainId.",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "an optional domainId for the VPN. If the account parameter is used, "
                    "domainId must also be used."
                ),
                entity="Domain",
            ),
            Param(
                "openfirewall",
                ParamType.BOOLEAN,
                description=(
                    "if true, firewall rule for source/end pubic port is automatically "
                    "created; if false - firewall rule has to be created explicitely. Has "
                    "value true by default"
                ),
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createremoteaccessvpnresponse",
        response_class="RemoteAccessVpnResponse",
        response_fields=VPN_FIELDS,
        description="Creates a l2tp/ipsec remote access vpn",
        java_class=_JAVA + "CreateRemoteAccessVpnCmd",
        create=create_vpn_create,
        instance_type="RemoteAccessVpn",
        event_type="VPN.REMOTE.ACCESS.CREATE",
    ),
    Command(
        name="deleteRemoteAccessVpn",
        handler=delete_vpn,
        params=(_PUBLIC_IP,),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deleteremoteaccessvpnresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Destroys a l2tp/ipsec remote access vpn",
        java_class=_JAVA + "DeleteRemoteAccessVpnCmd",
        event_type="VPN.REMOTE.ACCESS.DESTROY",
    ),
    Command(
        name="listRemoteAccessVpns",
        handler=list_vpns,
        params=(_PUBLIC_IP, *_OWNER_LIST),
        roles=ALL_ROLES,
        response_name="listremoteaccessvpnsresponse",
        response_class="RemoteAccessVpnResponse",
        response_fields=VPN_FIELDS,
        description="Lists remote access vpns",
        related=("createRemoteAccessVpn",),
        java_class=_JAVA + "ListRemoteAccessVpnsCmd",
    ),
    Command(
        name="addVpnUser",
        handler=add_user,
        params=(
            Param("username", description="username for the vpn user", required=True),
            Param("password", description="password for the username", required=True),
            *_owner_params("vpn user", "add vpn user to the specific project"),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="addvpnuserresponse",
        response_class="VpnUsersResponse",
        response_fields=USER_FIELDS,
        description="Adds vpn users",
        related=("listVpnUsers",),
        java_class=_JAVA + "AddVpnUserCmd",
        create=add_user_create,
        instance_type="VpnUser",
        event_type="VPN.USER.ADD",
    ),
    Command(
        name="removeVpnUser",
        handler=remove_user,
        params=(
            Param("username", description="username for the vpn user", required=True),
            *_owner_params("vpn user", "remove vpn user from the project"),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="removevpnuserresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Removes vpn user",
        java_class=_JAVA + "RemoveVpnUserCmd",
        event_type="VPN.USER.REMOVE",
    ),
    Command(
        name="listVpnUsers",
        handler=list_users,
        params=(
            Param("id", ParamType.UUID, description="The uuid of the Vpn user", entity="VpnUsers"),
            Param("username", description="the username of the vpn user."),
            *_OWNER_LIST,
        ),
        roles=ALL_ROLES,
        response_name="listvpnusersresponse",
        response_class="VpnUsersResponse",
        response_fields=USER_FIELDS,
        description="Lists vpn users",
        java_class=_JAVA + "ListVpnUsersCmd",
    ),
)
"""The remote-access VPN commands."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The VPN commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
