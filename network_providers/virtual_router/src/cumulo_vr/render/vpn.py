"""The remote-access VPN: L2TP over IPsec with a pre-shared key (CAP-30).

strongSwan (``ipsec.conf``, ``ipsec.secrets``) protects L2TP (UDP 1701) in transport
mode with IKEv1 and the pre-shared key — what the native clients of Windows, Mac OS X
and iOS speak (REQ-RAVPN-03); xl2tpd (``xl2tpd.conf``) answers the L2TP tunnels and
pppd (``options.xl2tpd``, and ``chap-secrets``, which pppd reads only from
``/etc/ppp/chap-secrets``: the activation links it there) authenticates the VPN users with MS-CHAPv2
and gives them addresses from the client range, whose first address is the router's
(REQ-RAVPN-06). Clients get the router as DNS server and no default route
(REQ-RAVPN-09: only the guest network goes through the tunnel).

Without a VPN every file is empty; the activation then stops the daemons.
"""

from __future__ import annotations

import ipaddress

from cumulo.sdk.network import ProviderRefused, RemoteAccessVpn
from cumulo_vr.layout import PPP_OPTIONS
from cumulo_vr.render.checks import check_ip, check_secret
from cumulo_vr.state import RouterState

SERVER_NAME = "cumulo-vpn"


def client_range(vpn: RemoteAccessVpn) -> tuple[str, str]:
    """The addresses handed to clients: the range without the router's own address."""
    try:
        start_text, end_text = (part.strip() for part in vpn.ip_range.split("-", 1))
        start, end = ipaddress.IPv4Address(start_text), ipaddress.IPv4Address(end_text)
    except ValueError:
        raise ProviderRefused(f"invalid VPN client range {vpn.ip_range!r}") from None
    local = ipaddress.IPv4Address(check_ip(vpn.local_ip))
    if start == local:
        start += 1
    if not start <= end:
        raise ProviderRefused(f"the VPN client range {vpn.ip_range!r} has no client address")
    return str(start), str(end)


def render_ipsec_conf(state: RouterState) -> str:
    vpn = state.vpn
    if vpn is None:
        return ""
    return (
        "\n".join(
            [
                "# cumulo remote-access VPN: rendered, do not edit",
                "conn cumulo-l2tp-psk",
                "    keyexchange=ikev1",
                "    authby=secret",
                "    type=transport",
                f"    left={check_ip(vpn.public_ip)}",
                "    leftprotoport=17/1701",
                "    right=%any",
                "    rightprotoport=17/%any",
                "    rekey=no",
                "    forceencaps=yes",
                "    ike=aes256-sha1-modp2048,aes128-sha1-modp2048,aes256-sha1-modp1024,"
                "3des-sha1-modp1024!",
                "    esp=aes256-sha1,aes128-sha1,3des-sha1!",
                "    dpddelay=30",
                "    dpdtimeout=120",
                "    dpdaction=clear",
                "    auto=add",
            ]
        )
        + "\n"
    )


def render_ipsec_secrets(state: RouterState) -> str:
    vpn = state.vpn
    if vpn is None:
        return ""
    key = check_secret(vpn.preshared_key, "VPN pre-shared key")
    return f'{check_ip(vpn.public_ip)} %any : PSK "{key}"\n'


def render_xl2tpd_conf(state: RouterState, base: str) -> str:
    vpn = state.vpn
    if vpn is None:
        return ""
    first, last = client_range(vpn)
    return (
        "\n".join(
            [
                "; cumulo remote-access VPN: rendered, do not edit",
                "[global]",
                f"listen-addr = {check_ip(vpn.public_ip)}",
                "",
                "[lns default]",
                f"ip range = {first}-{last}",
                f"local ip = {vpn.local_ip}",
                "require chap = yes",
                "refuse pap = yes",
                "require authentication = yes",
                f"name = {SERVER_NAME}",
                f"pppoptfile = {base}/{PPP_OPTIONS}",
                "length bit = yes",
            ]
        )
        + "\n"
    )


def render_ppp_options(state: RouterState) -> str:
    vpn = state.vpn
    if vpn is None or state.network is None:
        return ""
    return (
        "\n".join(
            [
                "# cumulo remote-access VPN: rendered, do not edit",
                f"name {SERVER_NAME}",
                "require-mschap-v2",
                "refuse-pap",
                "refuse-chap",
                "refuse-mschap",
                f"ms-dns {check_ip(state.router_address)}",
                "auth",
                "nodefaultroute",
                "proxyarp",
                "lcp-echo-interval 30",
                "lcp-echo-failure 4",
                "mtu 1410",
                "mru 1410",
                "noccp",
            ]
        )
        + "\n"
    )


def render_chap_secrets(state: RouterState) -> str:
    """``"user" cumulo-vpn "password" *`` per user (the secrets file of pppd)."""
    vpn = state.vpn
    if vpn is None:
        return ""
    lines = [
        f'"{check_secret(user.username, "VPN user name")}" {SERVER_NAME} '
        f'"{check_secret(user.password, "VPN user password")}" *'
        for user in vpn.users
    ]
    return "".join(line + "\n" for line in lines)
