"""The ``VirtualRouter`` network provider.

Every call finds (or starts) the network's router through the :class:`NetworkContext`,
replaces one part of the router's desired state with what the call carries (a whole
rule set, a NIC, the public addresses), renders the whole configuration and pushes the
difference through the transport the router's ``access_uri`` names (see
:mod:`cumulo_vr.configurator` and :mod:`cumulo_vr.transport`). Nothing is kept in this
process: the router holds its state, so any job worker of any process can make the
next call.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from cumulo.sdk.network import (
    Capabilities,
    FirewallRule,
    GuestNic,
    LoadBalancerRule,
    NetworkContext,
    NetworkProvider,
    NetworkProviderError,
    NetworkRef,
    PortForwardingRule,
    ProviderRefused,
    PublicIp,
    RemoteAccessVpn,
    RouterRef,
    StaticNatRule,
)
from cumulo_vr.capabilities import VIRTUAL_ROUTER_CAPABILITIES
from cumulo_vr.configurator import converge
from cumulo_vr.layout import password_path
from cumulo_vr.render import VirtualRouterRenderer
from cumulo_vr.render.checks import check_ip, check_secret
from cumulo_vr.state import RouterState
from cumulo_vr.transport import RouterTransport, transport_for

COMPONENT = "vr"
_RENDERER = VirtualRouterRenderer()

P = ParamSpec("P")
R = TypeVar("R")


def provider_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Let only :class:`NetworkProviderError` out of a provider method (the contract):
    anything else becomes :class:`ProviderRefused`, its cause chained for the log."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except NetworkProviderError:
            raise
        except Exception as exc:
            raise ProviderRefused(f"virtual router: {type(exc).__name__}: {exc}") from exc

    return wrapper


def router_transport(router: RouterRef, component: str) -> RouterTransport:
    """The transport to ``component``'s files on ``router``."""
    if not router.access_uri:
        raise ProviderRefused(f"router {router.instance_name} has no access URI")
    return transport_for(router.access_uri, component)


class VirtualRouter(NetworkProvider):
    """4.1's virtual router: DHCP, DNS, userdata, gateway, source and static NAT, port
    forwarding, firewall (ingress and egress), load balancing and remote-access VPN,
    rendered for a router system VM (or a network namespace, or files)."""

    name = "VirtualRouter"

    def capabilities(self) -> Capabilities:
        """The services above, with 4.1's capability values."""
        return VIRTUAL_ROUTER_CAPABILITIES

    def _apply(
        self,
        ctx: NetworkContext,
        network: NetworkRef,
        change: Callable[[RouterState], RouterState],
        *,
        force: bool = False,
        extra_writes: dict[str, bytes] | None = None,
        extra_removes: tuple[str, ...] = (),
        start: bool = True,
    ) -> None:
        router = ctx.ensure_router(network) if start else ctx.find_router(network)
        if router is None:
            return

        def update(state: RouterState) -> RouterState:
            return change(dataclasses.replace(state, network=network, router=router))

        converge(
            router_transport(router, COMPONENT),
            _RENDERER,
            update,
            force=force,
            extra_writes=extra_writes,
            extra_removes=extra_removes,
        )

    @provider_errors
    def implement(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        """Start the router and push its whole configuration (every file, every service
        restarted): also what brings a restarted or hand-edited router back."""
        self._apply(
            ctx, network, lambda s: dataclasses.replace(s, public_ips=public_ips), force=True
        )

    @provider_errors
    def prepare(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        """Serve the NIC's DHCP reservation, DNS name, userdata and metadata (the router
        is started if the network has none yet, as for shared networks); a password is
        written once for the password server, never kept in the router's state."""
        address = check_ip(nic.ip_address)

        def add(state: RouterState) -> RouterState:
            others = tuple(
                n
                for n in state.nics
                if n.mac_address.lower() != nic.mac_address.lower() and n.ip_address != address
            )
            return dataclasses.replace(state, nics=(*others, nic))

        extra = {}
        if nic.password:
            extra[password_path(address)] = check_secret(nic.password, "password").encode()
        self._apply(ctx, network, add, extra_writes=extra)

    @provider_errors
    def release(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        """Stop serving the NIC (its reservation, name, files and any unread password)."""

        def remove(state: RouterState) -> RouterState:
            kept = tuple(n for n in state.nics if n.mac_address.lower() != nic.mac_address.lower())
            return dataclasses.replace(state, nics=kept)

        self._apply(
            ctx,
            network,
            remove,
            extra_removes=(password_path(check_ip(nic.ip_address)),),
            start=False,
        )

    def _teardown(self, ctx: NetworkContext, network: NetworkRef) -> None:
        router = ctx.find_router(network)
        if router is not None:
            router_transport(router, COMPONENT).teardown(_RENDERER.stop())
        ctx.destroy_router(network)

    @provider_errors
    def shutdown(self, ctx: NetworkContext, network: NetworkRef) -> None:
        """Stop the router's services and destroy the router (the context offers no
        stop alone); the rules stay in the database for the next :meth:`implement`."""
        self._teardown(ctx, network)

    @provider_errors
    def destroy(self, ctx: NetworkContext, network: NetworkRef) -> None:
        """Stop everything and destroy the router; idempotent."""
        self._teardown(ctx, network)

    @provider_errors
    def apply_firewall_rules(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[FirewallRule, ...]
    ) -> None:
        """Ingress rules per public IP (everything else denied, REQ-FW-01) and the
        egress rules with the network's default policy (REQ-FW-07)."""
        self._apply(ctx, network, lambda s: dataclasses.replace(s, firewall=rules))

    @provider_errors
    def apply_port_forwarding(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[PortForwardingRule, ...]
    ) -> None:
        """DNAT and the matching FORWARD accept per rule (behind the firewall)."""
        self._apply(ctx, network, lambda s: dataclasses.replace(s, port_forwarding=rules))

    @provider_errors
    def apply_static_nat(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[StaticNatRule, ...]
    ) -> None:
        """One-to-one NAT both ways per rule (REQ-NAT-01)."""
        self._apply(ctx, network, lambda s: dataclasses.replace(s, static_nat=rules))

    @provider_errors
    def apply_load_balancers(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[LoadBalancerRule, ...]
    ) -> None:
        """haproxy proxies with their algorithm, backends and stickiness (CAP-26)."""
        self._apply(ctx, network, lambda s: dataclasses.replace(s, load_balancers=rules))

    @provider_errors
    def apply_source_nat(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        """The public addresses on ``eth2`` and source NAT through the source-NAT one."""
        self._apply(ctx, network, lambda s: dataclasses.replace(s, public_ips=public_ips))

    @provider_errors
    def apply_vpn(
        self, ctx: NetworkContext, network: NetworkRef, vpn: RemoteAccessVpn | None
    ) -> None:
        """The L2TP/IPsec remote-access VPN and its users; ``None`` removes it."""
        self._apply(ctx, network, lambda s: dataclasses.replace(s, vpn=vpn))
