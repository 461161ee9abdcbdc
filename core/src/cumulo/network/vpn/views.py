"""``RemoteAccessVpnResponse`` and ``VpnUsersResponse`` (field order of
response-fields-4.1.tsv; 4.1's VPN has no id of its own: it is named by its public
address). The pre-shared key is shown to the VPN's owner only — never to an admin
listing other accounts' VPNs; a user's password is never shown."""

from __future__ import annotations

from typing import Any

from cumulo.sdk.api import Fields

VPN_OBJECT = "remoteaccessvpn"
USER_OBJECT = "vpnuser"
VPN_FIELDS = (
    "publicipid",
    "publicip",
    "iprange",
    "presharedkey",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "state",
)
USER_FIELDS = ("id", "username", "account", "domainid", "domain", "projectid", "project", "state")


def vpn_fields(row: Any, preshared_key: str | None) -> Fields:
    """A VPN (a :mod:`.listing` row); ``preshared_key`` only for its owner."""
    return {
        "publicipid": row.ip_uuid,
        "publicip": row.ip_address,
        "iprange": row.ip_range,
        "presharedkey": preshared_key,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "state": row.state,
    }


def user_fields(row: Any) -> Fields:
    """A VPN user (a :mod:`.listing` row)."""
    return {
        "id": row.uuid,
        "username": row.username,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "state": row.state,
    }
