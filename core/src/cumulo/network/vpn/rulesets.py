"""The Vpn set of a network, registered with the orchestrator at import: the network's
remote-access VPN (``Added`` or ``Running``) with every user of its account not being
revoked, or ``None`` when it has none. Two statements whatever the number of users.

The pre-shared key and the users' passwords are decrypted here, for the provider only,
with the database key of the process's runtime, which the session carries
(``session.info["runtime"]``, as the orchestrator's router context reads it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo import crypto_cache
from cumulo.crypto import CryptoError, unwrap_enc
from cumulo.infra.models import UserIpAddress
from cumulo.network import orchestrator
from cumulo.network.vpn.models import RemoteAccessVpn, VpnState, VpnUser, VpnUserState
from cumulo.sdk import network as sdk
from cumulo.sdk.errors import InternalError
from cumulo.sdk.network import Service


def secrets_key(session: Session) -> tuple[str, str]:
    """``(database key, algorithm)`` of the runtime bound to the session.

    :raises InternalError: no runtime is bound (a caller's bug; 530).
    """
    runtime = session.info.get("runtime")
    if runtime is None:
        raise InternalError("the session carries no runtime: cannot decrypt the VPN's secrets")
    return str(runtime.database_key or ""), str(runtime.algorithm)


def plain(stored: str, key: str, algorithm: str, what: str) -> str:
    """A secret as stored (``ENC(...)``, or plain where the deployment encrypts
    nothing) in clear text.

    :raises InternalError: it cannot be decrypted with the key (530; the text names
        what, never the value).
    """
    inner = unwrap_enc(stored)
    if inner is None:
        return stored
    try:
        return crypto_cache.decrypt(inner, key, algorithm)
    except CryptoError as exc:
        raise InternalError(f"cannot decrypt {what}: {exc}") from None


def remote_access_vpn(session: Session, network_id: int) -> sdk.RemoteAccessVpn | None:
    """The Vpn set (module doc)."""
    row = session.execute(
        select(
            RemoteAccessVpn.account_id,
            RemoteAccessVpn.local_ip,
            RemoteAccessVpn.ip_range,
            RemoteAccessVpn.ipsec_psk,
            UserIpAddress.public_ip_address,
        )
        .join(UserIpAddress, UserIpAddress.id == RemoteAccessVpn.vpn_server_addr_id)
        .where(
            RemoteAccessVpn.network_id == network_id,
            RemoteAccessVpn.state != VpnState.REMOVED.value,
        )
    ).first()
    if row is None:
        return None
    key, algorithm = secrets_key(session)
    users = session.execute(
        select(VpnUser.username, VpnUser.password)
        .where(VpnUser.owner_id == row.account_id, VpnUser.state != VpnUserState.REVOKE.value)
        .order_by(VpnUser.id)
    ).all()
    return sdk.RemoteAccessVpn(
        public_ip=row.public_ip_address,
        ip_range=row.ip_range,
        local_ip=row.local_ip,
        preshared_key=plain(row.ipsec_psk, key, algorithm, "the VPN's pre-shared key"),
        users=tuple(
            sdk.VpnUser(
                username, plain(password, key, algorithm, f"VPN user {username}'s password")
            )
            for username, password in users
        ),
    )


orchestrator.register_rule_set(Service.VPN, remote_access_vpn)
