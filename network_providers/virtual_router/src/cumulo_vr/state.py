"""The desired state of one network's virtual router, as the provider was last told it.

Each ``apply_*`` call replaces one part (a whole rule set, never a delta); the router
keeps every part as a JSON document under ``state/`` so the next call, from any
process, renders the whole configuration. Parts are kept in a canonical order so that
the state — and everything rendered from it — does not depend on the order the core
listed rules in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cumulo.sdk.network import (
    FirewallRule,
    GuestNic,
    LoadBalancerRule,
    NetworkRef,
    PortForwardingRule,
    PublicIp,
    RemoteAccessVpn,
    RouterRef,
    StaticNatRule,
)
from cumulo_vr import codec
from cumulo_vr.layout import STATE_DIR, ip_key


@dataclass(frozen=True)
class RouterState:
    """Everything the router's configuration is rendered from.

    :param network: the network (``None`` until the router first hears of it).
    :param router: the router as the core described it last.
    :param public_ips: the network's public addresses, the source-NAT one included.
    :param nics: the guests' NICs (passwords stripped: they are served once, never kept).
    :param firewall: ingress rules (``public_ip`` set) and egress rules (empty).
    """

    network: NetworkRef | None = None
    router: RouterRef | None = None
    public_ips: tuple[PublicIp, ...] = ()
    nics: tuple[GuestNic, ...] = ()
    firewall: tuple[FirewallRule, ...] = ()
    port_forwarding: tuple[PortForwardingRule, ...] = ()
    static_nat: tuple[StaticNatRule, ...] = ()
    load_balancers: tuple[LoadBalancerRule, ...] = ()
    vpn: RemoteAccessVpn | None = None

    def canonical(self) -> RouterState:
        """The same state with every collection in its canonical order (objects that
        need no change are kept as they are: a state holds thousands)."""
        return dataclasses.replace(
            self,
            public_ips=tuple(sorted(self.public_ips, key=lambda ip: ip_key(ip.address))),
            nics=tuple(
                sorted(
                    (dataclasses.replace(n, password="") if n.password else n for n in self.nics),
                    key=lambda nic: (ip_key(nic.ip_address), nic.mac_address),
                )
            ),
            firewall=tuple(sorted(self.firewall, key=lambda rule: rule.uuid)),
            port_forwarding=tuple(sorted(self.port_forwarding, key=lambda rule: rule.uuid)),
            static_nat=tuple(sorted(self.static_nat, key=lambda rule: ip_key(rule.public_ip))),
            load_balancers=tuple(
                sorted((_sorted_backends(rule) for rule in self.load_balancers), key=_uuid)
            ),
            vpn=None
            if self.vpn is None
            else dataclasses.replace(
                self.vpn, users=tuple(sorted(self.vpn.users, key=lambda u: u.username))
            ),
        )

    @property
    def router_address(self) -> str:
        """The router's own guest address: the network's gateway for isolated networks;
        on a shared network, whose gateway is a physical router, the address the core
        gave the router (DNS, the metadata server and ``eth0`` use it)."""
        if self.router is not None and self.router.guest_ip:
            return self.router.guest_ip
        return self.network.gateway if self.network is not None else ""

    @property
    def source_nat_ip(self) -> PublicIp | None:
        """The network's source-NAT address, if it has one."""
        return next((ip for ip in self.public_ips if ip.source_nat), None)


def _uuid(rule: LoadBalancerRule) -> str:
    return rule.uuid


def _sorted_backends(rule: LoadBalancerRule) -> LoadBalancerRule:
    backends = tuple(sorted(set(rule.backends), key=lambda b: ip_key(b.guest_ip)))
    return rule if backends == rule.backends else dataclasses.replace(rule, backends=backends)


# One document per part: a call that changes one part rewrites one document.
_DOCUMENTS: dict[str, tuple[str, object]] = {
    "network": ("network.json", NetworkRef | None),
    "router": ("router.json", RouterRef | None),
    "public_ips": ("public_ips.json", tuple[PublicIp, ...]),
    "nics": ("nics.json", tuple[GuestNic, ...]),
    "firewall": ("firewall.json", tuple[FirewallRule, ...]),
    "port_forwarding": ("port_forwarding.json", tuple[PortForwardingRule, ...]),
    "static_nat": ("static_nat.json", tuple[StaticNatRule, ...]),
    "load_balancers": ("load_balancers.json", tuple[LoadBalancerRule, ...]),
    "vpn": ("vpn.json", RemoteAccessVpn | None),
}


def state_documents(state: RouterState, parts: Collection[str] | None = None) -> dict[str, bytes]:
    """The state as files (``state/<part>.json``) to keep on the router (only those of
    ``parts`` when given)."""
    return {
        f"{STATE_DIR}/{name}": codec.dumps(getattr(state, part))
        for part, (name, _) in _DOCUMENTS.items()
        if parts is None or part in parts
    }


def state_from_documents(documents: Mapping[str, bytes]) -> RouterState:
    """Rebuild the state from what :func:`state_documents` wrote (missing parts empty)."""
    defaults = RouterState()
    values = {
        part: codec.loads(kind, documents.get(f"{STATE_DIR}/{name}"), getattr(defaults, part))
        for part, (name, kind) in _DOCUMENTS.items()
    }
    return RouterState(**values)
