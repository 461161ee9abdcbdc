"""VPN users (REQ-RAVPN-04, REQ-RAVPN-05): an account's own user table, separate from
its CloudStack users, shared by every VPN of the account.

4.1's rules: a user name of 3 to 64 characters, starting with a letter or digit, of
letters, digits and ``@ . _ -``; a password of 3 to 32 characters, starting with a
letter or digit, of letters, digits and ``@ # + = . _ -`` (characters the router's
L2TP secrets file can hold); one name once per account; at most
``remote.access.vpn.user.limit`` users per account (532). Passwords are stored
encrypted and never shown.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo.infra.hosts.connection import conceal
from cumulo.network.vpn.models import RemoteAccessVpn, VpnState, VpnUser, VpnUserState
from cumulo.sdk.errors import AccountLimitExceeded, InvalidParameterValue

USER_LIMIT_KEY = "remote.access.vpn.user.limit"
_USERNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9@._-]{2,63}$")
_PASSWORD = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9@#+=._-]{2,31}$")


def check_credentials(username: str, password: str) -> None:
    """The 4.1 forms of a VPN user's name and password.

    :raises InvalidParameterValue: naming ``username`` or ``password``.
    """
    if not _USERNAME.match(username):
        raise InvalidParameterValue(
            "username: a VPN user name has 3 to 64 characters, starts with a letter or a"
            " digit and holds only letters, digits and the characters @ . _ -"
        )
    if not _PASSWORD.match(password):
        raise InvalidParameterValue(
            "password: a VPN user password has 3 to 32 characters, starts with a letter or a"
            " digit and holds only letters, digits and the characters @ # + = . _ -"
        )


def add(
    session: Session,
    *,
    owner_id: int,
    domain_id: int,
    owner_name: str,
    username: str,
    password: str,
    limit: int,
    database_key: str,
    algorithm: str,
) -> VpnUser:
    """``addVpnUser``'s create step: a user ``Add`` (module doc).

    :raises InvalidParameterValue: bad credentials or a name in use (431).
    :raises AccountLimitExceeded: the account has ``limit`` users already (532).
    """
    check_credentials(username, password)
    taken = session.scalar(
        select(VpnUser.state).where(VpnUser.owner_id == owner_id, VpnUser.username == username)
    )
    if taken is not None:
        raise InvalidParameterValue(
            f"username: VPN user {username} is already added for account {owner_name}"
        )
    count = session.scalar(
        select(func.count()).where(
            VpnUser.owner_id == owner_id, VpnUser.state != VpnUserState.REVOKE.value
        )
    )
    if (count or 0) >= limit:
        raise AccountLimitExceeded(
            f"Cannot add more than {limit} remote access VPN users to account {owner_name}"
            " (remote.access.vpn.user.limit)"
        )
    user = VpnUser(
        owner_id=owner_id,
        domain_id=domain_id,
        username=username,
        password=conceal(password, database_key, algorithm),
        state=VpnUserState.ADD.value,
    )
    try:
        with session.begin_nested():  # the same name added concurrently: one wins
            session.add(user)
            session.flush()
    except IntegrityError:
        raise InvalidParameterValue(
            f"username: VPN user {username} is already added for account {owner_name}"
        ) from None
    return user


def vpn_networks(session: Session, owner_id: int) -> list[int]:
    """The networks of the account's VPNs, whose sets change with its users."""
    rows = session.scalars(
        select(RemoteAccessVpn.network_id)
        .where(
            RemoteAccessVpn.account_id == owner_id,
            RemoteAccessVpn.state != VpnState.REMOVED.value,
        )
        .order_by(RemoteAccessVpn.network_id)
    )
    return list(rows)
