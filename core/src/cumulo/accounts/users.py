"""Users: the logins of an account (create, update, enable/disable/lock, delete, keys).

CloudStack 4.1's rules (CS41: server/src/com/cloud/user/AccountManagerImpl.java):
usernames are unique among the live users of a domain, the ``system`` user is never
changed through the API, enabling a user enables its account too, locking the last
enabled user of an account locks the account, and deletion is soft. Tighter than 4.1:
a user (role USER) may change and re-key only its own user, not its colleagues'; and
the last enabled root admin user can be neither deleted nor disabled or locked.

Every function works in the caller's transaction and never commits. Listing is in
:mod:`cumulo.accounts.user_listing`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts import audit
from cumulo.accounts.access import SYSTEM_ACCOUNT_ID, check_account_management
from cumulo.accounts.account_service import (
    PasswordEncoder,
    ensure_root_admin_remains,
    new_user,
    set_account_enabled,
)
from cumulo.accounts.domains import root_domain
from cumulo.accounts.lookup import active_account_by_name, username_taken
from cumulo.accounts.models import (
    Account,
    AccountState,
    AccountType,
    Domain,
    DomainState,
    User,
    UserState,
)
from cumulo.accounts.validation import check_not_empty, check_timezone
from cumulo.db.base import utcnow
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied

KeyRegistrar = Callable[[User], tuple[str, str]]
"""Gives a user a new API key pair and returns it (``cumulo.auth.keys``)."""


def check_user_management(ctx: CallContext, session: Session, user: User) -> Account:
    """Allow the caller to change ``user``, else raise; return the user's account.

    A user (role USER) may change only itself; admins follow
    :func:`cumulo.accounts.access.check_account_management`.

    :raises InvalidParameterValue: the user was deleted.
    :raises PermissionDenied: the system user, or not the caller's to change.
    """
    if user.removed is not None:
        raise InvalidParameterValue(f"Unable to find active user by id {user.uuid}")
    account = user.account
    if account.id == SYSTEM_ACCOUNT_ID:
        raise PermissionDenied(f"user id : {user.uuid} is a system user, not allowed")
    if ctx.role == Role.USER and user.id != ctx.user_id:
        raise PermissionDenied(
            f"Account {ctx.account_name} does not have permission to operate with user {user.uuid}"
        )
    check_account_management(ctx, session, account)
    return account


def create_user(
    ctx: CallContext,
    session: Session,
    *,
    encode_password: PasswordEncoder,
    account_name: str,
    domain: Domain | None,
    username: str,
    password: str,
    email: str,
    firstname: str,
    lastname: str,
    timezone: str | None = None,
    user_uuid: str | None = None,
) -> User:
    """Add a user to the live, enabled account ``account_name`` of ``domain`` (ROOT when
    ``None``), as ``createUser``.

    :raises InvalidParameterValue: no such account, a taken username, a bad value.
    :raises PermissionDenied: the system account, or not the caller's to change.
    """
    if domain is None:
        domain = root_domain(session)
    if domain.removed is not None or domain.state != DomainState.ACTIVE:
        raise InvalidParameterValue(
            f"The domain {domain.uuid} does not exist; unable to create user"
        )
    check_not_empty(username, "Username")
    check_not_empty(firstname, "Firstname")
    check_not_empty(lastname, "Lastname")
    check_not_empty(password, "Password")
    check_timezone(timezone)
    account = active_account_by_name(session, account_name, domain.id)
    if (
        account is None
        or account.state != AccountState.ENABLED
        or account.type == AccountType.PROJECT
    ):
        raise InvalidParameterValue(
            f"Unable to find account {account_name} in domain id={domain.uuid} to create user"
        )
    check_account_management(ctx, session, account)
    if username_taken(session, username, domain.id):
        raise InvalidParameterValue(f"The user {username} already exists in domain {domain.uuid}")
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
    _record(session, ctx, audit.USER_CREATE, "creating User", user)
    return user


def update_user(
    ctx: CallContext,
    session: Session,
    user: User,
    *,
    encode_password: PasswordEncoder,
    database_key: str,
    algorithm: str | None = None,
    username: str | None = None,
    password: str | None = None,
    email: str | None = None,
    firstname: str | None = None,
    lastname: str | None = None,
    timezone: str | None = None,
    api_key: str | None = None,
    secret_key: str | None = None,
) -> User:
    """Change what is given of ``user`` (``updateUser``); ``None`` keeps a value.

    :param database_key: encrypts a given secret key (stored ``ENC(...)``).
    :raises InvalidParameterValue: an empty name, a username taken in the domain, an API
        key without its secret key (or the reverse) or held by another user.
    :raises PermissionDenied: the system user, or not the caller's to change.
    """
    account = check_user_management(ctx, session, user)
    if (api_key is None) != (secret_key is None):
        raise InvalidParameterValue("Please provide an userApiKey/userSecretKey pair")
    if firstname is not None:
        user.firstname = check_not_empty(firstname, "Firstname")
    if lastname is not None:
        user.lastname = check_not_empty(lastname, "Lastname")
    if username is not None and username != user.username:
        check_not_empty(username, "Username")
        if username_taken(session, username, account.domain_id, except_user_id=user.id):
            raise InvalidParameterValue(
                f"User with name {username} already exists in domain {account.domain.uuid}"
            )
        user.username = username
    if password is not None:
        user.password = encode_password(check_not_empty(password, "Password"))
    if email is not None:
        user.email = email
    if timezone is not None:
        user.timezone = check_timezone(timezone)
    if api_key is not None and secret_key is not None:
        holder = session.scalar(select(User.id).where(User.api_key == api_key))
        if holder is not None and holder != user.id:
            raise InvalidParameterValue(
                "The api key exists in the system for another user, please provide a unique key"
            )
        user.api_key = api_key
        if database_key:
            user.store_secret_key(secret_key, database_key, algorithm)
        else:
            user.secret_key = secret_key
    session.flush()
    _record(session, ctx, audit.USER_UPDATE, "updating User", user)
    return user


def delete_user(ctx: CallContext, session: Session, user: User) -> None:
    """Delete ``user`` (soft: ``removed`` is set; the account stays).

    :raises InvalidParameterValue: the user was already deleted.
    :raises PermissionDenied: the system user, the last enabled root admin, or not the
        caller's to change.
    """
    if user.removed is not None:
        raise InvalidParameterValue("The specified user doesn't exist in the system")
    account = check_user_management(ctx, session, user)
    if account.type == AccountType.ADMIN:
        ensure_root_admin_remains(session, without_user=user.id)
    user.removed = utcnow()
    session.flush()
    _record(session, ctx, audit.USER_DELETE, "deleting User", user)


def disable_user(ctx: CallContext, session: Session, user: User) -> User:
    """Disable ``user``: it can no longer log in or sign requests.

    :raises InvalidParameterValue: the user was deleted.
    :raises PermissionDenied: the system user, the last enabled root admin, or not the
        caller's to change.
    """
    account = check_user_management(ctx, session, user)
    if account.type == AccountType.ADMIN and user.state == UserState.ENABLED:
        ensure_root_admin_remains(session, without_user=user.id)
    user.state = UserState.DISABLED.value
    session.flush()
    _record(session, ctx, audit.USER_DISABLE, "disabling User", user)
    return user


def enable_user(ctx: CallContext, session: Session, user: User) -> User:
    """Enable ``user`` and its account; failed login attempts start again from zero.

    :raises InvalidParameterValue: the user was deleted.
    :raises PermissionDenied: the system user, or not the caller's to change.
    """
    account = check_user_management(ctx, session, user)
    user.state = UserState.ENABLED.value
    user.incorrect_login_attempts = 0
    set_account_enabled(account)
    session.flush()
    _record(session, ctx, audit.USER_ENABLE, "enabling User", user)
    return user


def lock_user(ctx: CallContext, session: Session, user: User) -> User:
    """Lock ``user``; when no enabled user is left in its account, lock the account.

    Only an enabled user can be locked; a locked one stays locked.

    :raises InvalidParameterValue: the user was deleted, or is disabled.
    :raises PermissionDenied: the system user, the last enabled root admin, or not the
        caller's to change.
    """
    account = check_user_management(ctx, session, user)
    if user.state == UserState.LOCKED:
        return user
    if user.state != UserState.ENABLED:
        raise InvalidParameterValue(
            f"Unable to lock user {user.uuid}: only an enabled user can be locked, its state"
            f" is {user.state}"
        )
    if account.type == AccountType.ADMIN:
        ensure_root_admin_remains(session, without_user=user.id)
    user.state = UserState.LOCKED.value
    others_enabled = session.scalar(
        select(User.id)
        .where(
            User.account_id == account.id,
            User.id != user.id,
            User.removed.is_(None),
            User.state == UserState.ENABLED.value,
        )
        .limit(1)
    )
    if others_enabled is None and account.state == AccountState.ENABLED:
        account.state = AccountState.LOCKED.value
    session.flush()
    _record(session, ctx, audit.USER_LOCK, "locking User", user)
    return user


def register_keys(
    ctx: CallContext, session: Session, user: User, register: KeyRegistrar
) -> tuple[str, str]:
    """Check the caller may re-key ``user``, then let ``register`` make the keys.

    Kept apart from key generation (``cumulo.auth.keys``): this decides *who* may.

    :return: what ``register`` returns, ``(apikey, secretkey)``.

    :raises InvalidParameterValue: the user was deleted.
    :raises PermissionDenied: the system user, or not the caller's to change.
    """
    check_user_management(ctx, session, user)
    keys = register(user)
    _record(session, ctx, audit.REGISTER_USER_KEY, "registering user API keys", user)
    return keys


def _record(session: Session, ctx: CallContext, event_type: str, action: str, user: User) -> None:
    audit.record(
        session,
        ctx,
        event_type,
        f"Successfully completed {action}. User Name: {user.username}",
        owner=user.account,
        resource_type="User",
        resource_uuid=user.uuid,
    )
