"""Where things are on a router: its interfaces and the files of its configuration.

Interfaces follow 4.1's router (REQ-GN-02): ``eth0`` holds the guest gateway, ``eth1``
the link-local control address the management server reaches, ``eth2`` the public
addresses. Every public address of the network is configured on ``eth2`` (4.1 adds
``eth3``… for public VLANs other than the source NAT one; cumulo's routers put them all
on ``eth2``, which is what a router with one public segment needs).

Each provider keeps its files under its own directory on the router (``vr`` for the
virtual router, ``sg`` for the security-group rules), relative paths below.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

GUEST_IF = "eth0"
CONTROL_IF = "eth1"
PUBLIC_IF = "eth2"

CONTROL_SSH_PORT = 3922
METADATA_PORT = 80
PASSWORD_PORT = 8080

# Relative paths of the virtual router's rendered files.
IPTABLES_RULES = "iptables.rules"
INTERFACES_SCRIPT = "interfaces.sh"
ACTIVATE_SCRIPT = "bin/vr-activate.sh"
METADATA_SERVER = "bin/metadata_server.py"
DNSMASQ_CONF = "dnsmasq/dnsmasq.conf"
DNSMASQ_DHCP_HOSTS = "dnsmasq/dhcp-hosts"
DNSMASQ_NAMES = "dnsmasq/names"
HAPROXY_CFG = "haproxy/haproxy.cfg"
IPSEC_CONF = "vpn/ipsec.conf"
IPSEC_SECRETS = "vpn/ipsec.secrets"
XL2TPD_CONF = "vpn/xl2tpd.conf"
PPP_OPTIONS = "vpn/options.xl2tpd"
CHAP_SECRETS = "vpn/chap-secrets"
GUEST_DATA_DIR = "www"
PASSWORDS_DIR = "passwords"
RUN_DIR = "run"
STATE_DIR = "state"

# The security-group provider's files.
SG_IPTABLES_RULES = "iptables.rules"
SG_ACTIVATE_SCRIPT = "bin/sg-activate.sh"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_safe_name(name: str) -> bool:
    """Whether ``name`` can be a file name and a configuration token as it is."""
    return bool(_SAFE_NAME.match(name))


@lru_cache(maxsize=65536)
def ip_key(address: str) -> tuple[int, int]:
    """A sort key ordering addresses numerically (``10.0.0.9`` before ``10.0.0.10``)."""
    parsed = ipaddress.ip_address(address)
    return (parsed.version, int(parsed))


def slug(address: str) -> str:
    """``203.0.113.5`` → ``203_0_113_5``: an address inside a chain or proxy name."""
    return address.replace(".", "_").replace(":", "_")


def guest_data_path(guest_ip: str, name: str) -> str:
    """The file the metadata server returns for ``/latest/<name>`` asked from
    ``guest_ip`` (``user-data`` or ``meta-data/<file>``)."""
    return f"{GUEST_DATA_DIR}/{guest_ip}/{name}"


def password_path(guest_ip: str) -> str:
    """The one-shot password file of a guest (served once on port 8080)."""
    return f"{PASSWORDS_DIR}/{guest_ip}"
