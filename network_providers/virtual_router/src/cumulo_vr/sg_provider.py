"""The ``SecurityGroupProvider`` network provider: per-VM security-group chains.

The chains (:mod:`cumulo_vr.render.security_groups`) belong on the bridge the VMs'
NICs are plugged into, where 4.1's hosts apply them. The provider pushes them to the
access point the :class:`NetworkContext` gives for the network with
:meth:`~NetworkContext.find_router` — never starting one: in the packet tests that is
the namespace holding the guests' bridge. The contract has no way yet to name the
hosts of a network's VMs, so in production the rules reach a host only through a
context that returns it there (see the README, "Security groups").

``apply_security_groups`` receives every VM of the network with its whole rule set
(what the core's rule-set builder returns): VMs left out lose their chains, like every
other rule kind; :meth:`release` removes one VM's chains.
"""

from __future__ import annotations

import dataclasses

from cumulo.sdk.network import (
    Capabilities,
    GuestNic,
    NetworkContext,
    NetworkProvider,
    NetworkRef,
    ProviderUnreachable,
    PublicIp,
    VmSecurityRules,
)
from cumulo_vr.capabilities import SECURITY_GROUP_CAPABILITIES
from cumulo_vr.configurator import converge
from cumulo_vr.provider import provider_errors, router_transport
from cumulo_vr.render.security_groups import SecurityGroupRenderer, SecurityGroupState

COMPONENT = "sg"
_RENDERER = SecurityGroupRenderer()


class SecurityGroupProvider(NetworkProvider):
    """4.1's security groups: ingress denied unless allowed, egress allowed until a
    rule exists (REQ-SG-01, REQ-SG-05, REQ-SG-06)."""

    name = "SecurityGroupProvider"

    def capabilities(self) -> Capabilities:
        """``SecurityGroup``, without capabilities (as 4.1)."""
        return SECURITY_GROUP_CAPABILITIES

    @provider_errors
    def implement(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        """Push the known rules again, whole (brings a rebooted bridge host back)."""
        router = ctx.find_router(network)
        if router is not None:
            converge(
                router_transport(router, COMPONENT),
                _RENDERER,
                lambda state: dataclasses.replace(state, network_uuid=network.uuid),
                force=True,
            )

    @provider_errors
    def prepare(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        """Nothing: a VM's rules arrive with :meth:`apply_security_groups`."""

    @provider_errors
    def release(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        """Remove the chains of the NIC's VM."""
        router = ctx.find_router(network)
        if router is None:
            return

        def remove(state: SecurityGroupState) -> SecurityGroupState:
            kept = tuple(vm for vm in state.vms if vm.vm_uuid != nic.vm_uuid)
            return SecurityGroupState(network.uuid, kept)

        converge(router_transport(router, COMPONENT), _RENDERER, remove)

    @provider_errors
    def shutdown(self, ctx: NetworkContext, network: NetworkRef) -> None:
        """Remove every chain of the network (the rules stay in the database)."""
        router = ctx.find_router(network)
        if router is not None:
            transport = router_transport(router, COMPONENT)
            try:
                state = _RENDERER.decode(transport.read().documents)
            except ProviderUnreachable:
                return  # the host is gone, and its rules with it
            transport.teardown(
                _RENDERER.stop(dataclasses.replace(state, network_uuid=network.uuid))
            )

    @provider_errors
    def destroy(self, ctx: NetworkContext, network: NetworkRef) -> None:
        """As :meth:`shutdown`; idempotent."""
        self.shutdown(ctx, network)

    @provider_errors
    def apply_security_groups(
        self, ctx: NetworkContext, network: NetworkRef, vms: tuple[VmSecurityRules, ...]
    ) -> None:
        """The whole set: every VM of the network with its rules (whole-set semantics,
        as every apply method and the compliance kit; a VM not in ``vms`` loses its
        chains)."""
        router = ctx.find_router(network)
        if router is None:
            return
        converge(
            router_transport(router, COMPONENT),
            _RENDERER,
            lambda state: SecurityGroupState(network.uuid, vms),
        )
