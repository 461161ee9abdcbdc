"""Accounts: create (with the first user), update, enable/disable/lock, delete.

CloudStack 4.1's rules (CS41: server/src/com/cloud/user/AccountManagerImpl.java): an
account name is unique among the live accounts of its domain, root admin accounts
(type 1) live only in ROOT, the ``system`` account is never changed through the API,
and deletion is soft (the account and its users get ``removed``). On top of 4.1, the
last enabled root admin can be neither deleted nor disabled or locked, so the cloud
always keeps someone able to administer it.

Every function works in the caller's transaction and never commits. Listing is in
:mod:`cumulo.accounts.account_listing`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cumulo.accounts import audit
from cumulo.accounts.access import (
    SYSTEM_ACCOUNT_ID,
    check_account_management,
    check_domain_access,
)
from cumulo.accounts.domains import root_domain
from cumulo.accounts.lookup import active_account_by_name, parse_public_id, username_taken
from cumulo.accounts.models import (
    Account,
    AccountDetail,
    AccountState,
    AccountType,
    Domain,
    DomainState,
    User,
    UserState,
)
from cumulo.accounts.validation import (
    check_network_domain,
    check_not_empty,
    check_timezone,
    optional_network_domain,
)
from cumulo.db.base import utcnow
from cumulo.keypairs.cleanup import delete_key_pairs_of
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied

PasswordEncoder = Callable[[str], str]
"""Turns a new password into the value stored in ``user.password``."""

# Types createAccount accepts: user, root admin, domain admin, resource admin. 4.1 also
# let 4 and 5 through, but a read-only admin has no API and a project account is made
# by createProject, so here they are refused.
CREATABLE_TYPES = frozenset(
    {
        AccountType.NORMAL,
        AccountType.ADMIN,
        AccountType.DOMAIN_ADMIN,
        AccountType.RESOURCE_DOMAIN_ADMIN,
    }
)


def find_account_by_name_or_id(
    session: Session, *, account: Account | None, name: str | None, domain: Domain | None
) -> Account:
    """The live account a command names by ``id``, or by ``account`` + ``domainid``.

    :raises InvalidParameterValue: no such live account (4.1's text).
    """
    found = account
    if found is None and name is not None and domain is not None:
        found = active_account_by_name(session, name, domain.id)
    if found is None or found.removed is not None or found.type == AccountType.PROJECT:
        raise InvalidParameterValue(
            f"Unable to find account by accountId: {account.uuid if account else None} OR by"
            f" name: {name} in domain {domain.uuid if domain else None}"
        )
    return found


def create_account(
    ctx: CallContext,
    session: Session,
    *,
    encode_password: PasswordEncoder,
    username: str,
    password: str,
    email: str,
    firstname: str,
    lastname: str,
    account_type: int,
    domain: Domain | None = None,
    account_name: str | None = None,
    network_domain: str | None = None,
    timezone: str | None = None,
    details: Mapping[str, str] | None = None,
    account_uuid: str | None = None,
    user_uuid: str | None = None,
) -> tuple[Account, User]:
    """Create an account and its first user (``createAccount``).

    :param domain: where to create it; ROOT when ``None``.
    :param account_name: default: the username.
    :param account_uuid: the public id to give the account (``accountid``, for an
        account copied from an external provisioning system); fresh when ``None``.
    :param user_uuid: likewise for the user (``userid``).
    :raises InvalidParameterValue: a bad or taken value (431 with 4.1's text).
    :raises PermissionDenied: the domain is outside the caller's subtree, or a caller
        who is not a root admin asks for a root admin account.
    """
    if domain is None:
        domain = root_domain(session)
    if account_name is None:
        account_name = username
    check_not_empty(username, "Username")
    check_not_empty(firstname, "Firstname")
    check_not_empty(lastname, "Lastname")
    check_not_empty(password, "Password")
    check_not_empty(account_name, "Account name")
    check_timezone(timezone)
    if domain.removed is not None or domain.state != DomainState.ACTIVE:
        raise InvalidParameterValue(
            f"The domain {domain.uuid} does not exist; unable to create account"
        )
    check_domain_access(ctx, domain)
    if account_type not in CREATABLE_TYPES:
        raise InvalidParameterValue(
            f"Invalid account type {account_type} given; unable to create user"
        )
    if account_type == AccountType.ADMIN:
        if domain.parent is not None:
            raise InvalidParameterValue(
                f"Invalid account type {account_type} given for an account in domain"
                f" {domain.uuid}; unable to create user."
            )
        if not ctx.is_root_admin:
            raise PermissionDenied("Only a root admin may create a root admin account")
    if network_domain is not None:
        check_network_domain(network_domain)
    if username_taken(session, username, domain.id):
        raise InvalidParameterValue(f"The user {username} already exists in domain {domain.uuid}")
    if active_account_by_name(session, account_name, domain.id) is not None:
        raise InvalidParameterValue(f"The specified account: {account_name} already exists")
    account = Account(
        account_name=account_name,
        type=account_type,
        domain_id=domain.id,
        state=AccountState.ENABLED.value,
        network_domain=network_domain,
    )
    if account_uuid is not None:
        account.uuid = _unused_uuid(session, Account, account_uuid, "accountid")
    session.add(account)
    session.flush()
    if details:
        session.add_all(
            AccountDetail(account_id=account.id, name=name, value=value)
            for name, value in details.items()
        )
    user = new_user(
        session,
        account,
        encode_password=encode_password,
        username=username,
        password=password,
        email=email,
        firstname=firstname,
        lastname=lastname,
        timezone=timezone,
        user_uuid=user_uuid,
    )
    if account_type == AccountType.RESOURCE_DOMAIN_ADMIN:
        # CS41 createUserAccount: a resource admin's user gets a registration token,
        # Java's UUID.nameUUIDFromBytes over domain, account, user and the time.
        seed = f"{domain.id}{account_name}{username}{int(utcnow().timestamp() * 1000)}"
        digest = hashlib.md5(seed.encode("utf-8"), usedforsecurity=False).digest()
        user.registration_token = str(uuid.UUID(bytes=digest, version=3))
    session.flush()
    audit.record(
        session,
        ctx,
        audit.ACCOUNT_CREATE,
        f"Successfully completed creating Account. Account Name: {account_name}, Domain Id:"
        f" {domain.uuid}",
        owner=account,
        resource_type="Account",
        resource_uuid=account.uuid,
    )
    return account, user


def new_user(
    session: Session,
    account: Account,
    *,
    encode_password: PasswordEncoder,
    username: str,
    password: str,
    email: str | None,
    firstname: str,
    lastname: str,
    timezone: str | None,
    user_uuid: str | None,
) -> User:
    """Add a user to ``account`` (no checks of the caller: the callers did them)."""
    user = User(
        username=username,
        password=encode_password(password),
        account_id=account.id,
        firstname=firstname,
        lastname=lastname,
        email=email,
        timezone=timezone,
        state=UserState.ENABLED.value,
    )
    if user_uuid is not None:
        user.uuid = _unused_uuid(session, User, user_uuid, "userid")
    session.add(user)
    session.flush()
    return user


def update_account(
    ctx: CallContext,
    session: Session,
    account: Account,
    *,
    new_name: str,
    network_domain: str | None = None,
    details: Mapping[str, str] | None = None,
) -> Account:
    """Rename ``account``, set its network domain (``""`` clears) and upsert details.

    :raises InvalidParameterValue: the system account; a name taken in the domain; a bad
        network domain.
    :raises PermissionDenied: not the caller's to change.
    """
    if account.id == SYSTEM_ACCOUNT_ID:
        raise InvalidParameterValue("Can not modify system account")
    check_account_management(ctx, session, account)
    check_not_empty(new_name, "Account name")
    optional_network_domain(network_domain)
    other = active_account_by_name(session, new_name, account.domain_id)
    if other is not None and other.id != account.id:
        raise InvalidParameterValue(
            f"There already exists an account with the name:{new_name} in the domain:"
            f"{account.domain.uuid} with existing account id:{other.uuid}"
        )
    account.account_name = new_name
    if network_domain is not None:
        account.network_domain = network_domain or None
    if details:
        # Replace the named details, keep the others (4.1's AccountDetailsDao.update).
        session.execute(
            delete(AccountDetail).where(
                AccountDetail.account_id == account.id, AccountDetail.name.in_(list(details))
            )
        )
        session.add_all(
            AccountDetail(account_id=account.id, name=name, value=value)
            for name, value in details.items()
        )
    session.flush()
    _record(session, ctx, audit.ACCOUNT_UPDATE, "updating account", account)
    return account


def delete_account(ctx: CallContext, session: Session, account: Account) -> None:
    """Delete ``account`` and its users (soft: ``removed`` is set) and its SSH key
    pairs (:mod:`cumulo.keypairs.cleanup`).

    An account already deleted is a success, as in 4.1.

    :raises PermissionDenied: the system account, the last enabled root admin account,
        or not the caller's to change.
    """
    if account.removed is not None:
        return
    check_account_management(ctx, session, account)
    if account.type == AccountType.ADMIN:
        ensure_root_admin_remains(session, without_account=account.id)
    now = utcnow()
    session.execute(
        update(User)
        .where(User.account_id == account.id, User.removed.is_(None))
        .values(removed=now)
        .execution_options(synchronize_session=False)
    )
    # Users of the account already loaded in this session are stale now (the statement
    # above flushed their pending changes first).
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, User) and loaded.account_id == account.id:
            session.expire(loaded)
    delete_key_pairs_of(session, [account.id])
    account.removed = now
    session.flush()
    _record(session, ctx, audit.ACCOUNT_DELETE, "deleting account", account)


def disable_account(
    ctx: CallContext, session: Session, account: Account, *, lock: bool = False
) -> Account:
    """Disable ``account`` (its users can no longer log in or sign requests), or with
    ``lock`` lock it (4.1 ``disableAccount lock=true`` and ``lockAccount``).

    Locking applies to an enabled account only; one already locked stays so. Disabling
    an account already disabled changes nothing.

    :raises InvalidParameterValue: locking a disabled account.
    :raises PermissionDenied: the system account, the last enabled root admin account,
        or not the caller's to change.
    """
    check_account_management(ctx, session, account)
    target = AccountState.LOCKED if lock else AccountState.DISABLED
    if account.state == target:
        return account
    if lock and account.state != AccountState.ENABLED:
        raise InvalidParameterValue(
            f"Unable to lock account {account.uuid}: only an enabled account can be locked,"
            f" its state is {account.state}"
        )
    if account.type == AccountType.ADMIN:
        ensure_root_admin_remains(session, without_account=account.id)
    account.state = target.value
    session.flush()
    action = "locking account" if lock else "disabling account"
    _record(session, ctx, audit.ACCOUNT_DISABLE, action, account)
    return account


def enable_account(ctx: CallContext, session: Session, account: Account) -> Account:
    """Enable ``account`` again; it no longer needs cleanup (4.1 ``enableAccount``).

    :raises PermissionDenied: the system account, or not the caller's to change.
    """
    check_account_management(ctx, session, account)
    set_account_enabled(account)
    session.flush()
    _record(session, ctx, audit.ACCOUNT_ENABLE, "enabling account", account)
    return account


def mark_default_zone(
    ctx: CallContext, session: Session, account: Account, zone_id: int, zone_uuid: str
) -> Account:
    """Make ``zone_id`` the zone ``account``'s resources go to by default (4.1
    ``markDefaultZoneForAccount``). The zone is resolved by the caller, so a missing one
    is a 431 naming ``zoneid`` before anything changes.

    :raises PermissionDenied: the system account, or not the caller's to change.
    """
    check_account_management(ctx, session, account)
    account.default_zone_id = zone_id
    session.flush()
    _record(
        session,
        ctx,
        audit.ACCOUNT_MARK_DEFAULT_ZONE,
        f"marking zone {zone_uuid} default for account",
        account,
    )
    return account


def set_account_enabled(account: Account) -> None:
    """Mark ``account`` enabled (``enableUser`` re-enables the account too)."""
    account.state = AccountState.ENABLED.value
    account.cleanup_needed = False


def ensure_root_admin_remains(
    session: Session, *, without_account: int | None = None, without_user: int | None = None
) -> None:
    """Refuse a change that would leave no enabled user in an enabled root admin account.

    :param without_account: the account about to be deleted, disabled or locked.
    :param without_user: the user about to be deleted, disabled or locked.
    :raises PermissionDenied: nobody could administer the cloud afterwards.
    """
    stmt = (
        select(User.id)
        .join(Account, User.account_id == Account.id)
        .where(
            Account.type == AccountType.ADMIN,
            Account.id != SYSTEM_ACCOUNT_ID,
            Account.state == AccountState.ENABLED.value,
            Account.removed.is_(None),
            User.state == UserState.ENABLED.value,
            User.removed.is_(None),
        )
    )
    if without_account is not None:
        stmt = stmt.where(Account.id != without_account)
    if without_user is not None:
        stmt = stmt.where(User.id != without_user)
    if session.scalar(stmt.limit(1)) is None:
        raise PermissionDenied(
            "This is the last enabled root admin; enable or create another root admin first"
        )


def _record(
    session: Session, ctx: CallContext, event_type: str, action: str, account: Account
) -> None:
    audit.record(
        session,
        ctx,
        event_type,
        f"Successfully completed {action}. Account Name: {account.account_name}",
        owner=account,
        resource_type="Account",
        resource_uuid=account.uuid,
    )


def _unused_uuid(session: Session, model: type[Account | User], value: str, param: str) -> str:
    parse_public_id(value, param)
    if session.scalar(select(model.id).where(model.uuid == value)) is not None:
        raise InvalidParameterValue(f"Invalid parameter {param} value={value}: already in use")
    return value
