"""The network orchestrator: hands each change of a guest network to the providers its
offering names, per service (:mod:`cumulo.sdk.network`, DESIGN.md §6).

The network's ``ntwk_service_map`` says who serves what (``Firewall`` → ``VirtualRouter``,
``Lb`` → ``Netscaler`` ...). The lifecycle calls (:func:`implement`, :func:`prepare_nic`,
:func:`release_nic`, :func:`shutdown`, :func:`destroy`) go to every provider the network
uses, once each; :func:`apply` goes only to the provider of the service applied, with
the **whole** set of that service's rules, built by the builder the rules area
registered for it (:func:`register_rule_set`). Source NAT's "set" is the network's
public addresses (:func:`public_ips`). After :func:`implement` every registered rule set
(and source NAT) is applied again, so a network that was shut down comes back with its
rules.

**Transactions.** A provider call may block for minutes (a router system VM starting, an
SSH session to it, a device API). No transaction is held open across one: each
function reads what the providers need, **commits the session's transaction** (the
caller's pending changes included: a rule in ``Add`` state, a network ``Implementing``
with its VLAN and source-NAT address), then calls the providers. A caller that must
undo its changes when a provider fails does so in a new transaction, as a VM start
does (:mod:`cumulo.compute.starting`). Nothing is committed when no provider is called.

**Statements.** Reading a network's facts is one statement, its public addresses one,
each rule set what its builder needs (builders are set-based: a constant number of
statements whatever the number of rules), a NIC one: the count per call never grows
with the number of rules, addresses or NICs.

**Errors.** A provider's :class:`~cumulo.sdk.network.ProviderUnreachable` becomes
:class:`~cumulo.sdk.errors.ResourceUnavailable` (534), a
:class:`~cumulo.sdk.network.ProviderRefused` (or any other
:class:`~cumulo.sdk.network.NetworkProviderError`) :class:`ProviderRefusedError` (530,
its message shown to the caller: it says what the device refused). A provider
declared for a service but not installed is 534 naming it.

**Context.** Providers that run on a router system VM reach it through the
:class:`~cumulo.sdk.network.NetworkContext` given to them: by default a
:class:`cumulo.network.context.CoreNetworkContext` on the same session and the process's
runtime (``session.info["runtime"]``, or the ``runtime`` argument); tests may pass their
own ``context``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, Zone
from cumulo.network.networks.models import Network, NetworkServiceMap
from cumulo.network.offerings.models import NetworkOffering
from cumulo.network.providers import provider
from cumulo.offerings.models import ServiceOffering
from cumulo.sdk.errors import InternalError, ResourceUnavailable
from cumulo.sdk.network import (
    GuestNic,
    NetworkContext,
    NetworkProvider,
    NetworkProviderError,
    NetworkRef,
    ProviderUnreachable,
    PublicIp,
    Service,
)

if TYPE_CHECKING:
    from cumulo.runtime import Runtime

Builder = Callable[[Session, int], Any]
"""``builder(session, network_id)``: the whole desired set of one service's rules."""

RULE_METHODS: dict[Service, str] = {
    Service.FIREWALL: "apply_firewall_rules",
    Service.PORT_FORWARDING: "apply_port_forwarding",
    Service.STATIC_NAT: "apply_static_nat",
    Service.LB: "apply_load_balancers",
    Service.VPN: "apply_vpn",
    Service.SECURITY_GROUP: "apply_security_groups",
}
"""The rule services and the provider method that takes each one's set."""

APPLY_ORDER: tuple[Service, ...] = (
    Service.SOURCE_NAT,
    Service.STATIC_NAT,
    Service.PORT_FORWARDING,
    Service.LB,
    Service.FIREWALL,
    Service.VPN,
    Service.SECURITY_GROUP,
)
"""The order :func:`implement` re-applies services in: addresses first, as 4.1's
restart does, then what uses them."""

SERVING_STATES = ("Implemented", "Setup")
"""Network states in which rules are applied at once (4.1 ``isNetworkImplemented``);
in the others they wait for :func:`implement`."""

_BUILDERS: dict[Service, Builder] = {}
_SERVICE_NAMES = frozenset(service.value for service in Service)


class ProviderRefusedError(InternalError):
    """530: a network provider refused the configuration; unlike other 530s its text
    (the provider's one operator line) is shown to every caller."""

    internal = False


def register_rule_set(service: Service, builder: Builder) -> None:
    """Register the builder of one rule service's whole set (the rules area calls this
    when its modules are imported; registering again replaces the builder).

    :param service: one of :data:`RULE_METHODS`.
    :raises ValueError: ``service`` is not a rule service (a programming error).
    """
    if service not in RULE_METHODS:
        raise ValueError(f"{service!r} has no rule set; expected one of {sorted(RULE_METHODS)}")
    _BUILDERS[Service(service)] = builder


def registered_rule_sets() -> dict[Service, Builder]:
    """The builders registered so far (a copy)."""
    return dict(_BUILDERS)


@contextmanager
def rule_sets(builders: dict[Service, Builder]) -> Iterator[None]:
    """Use exactly ``builders`` inside the ``with`` block (tests), then restore."""
    saved = dict(_BUILDERS)
    _BUILDERS.clear()
    _BUILDERS.update(builders)
    try:
        yield
    finally:
        _BUILDERS.clear()
        _BUILDERS.update(saved)


# ---- what providers are told --------------------------------------------------------


@dataclass(frozen=True)
class NetworkFacts:
    """A network as the orchestrator reads it (one statement).

    :param services: service → provider name, for the services the network has.
    """

    id: int
    uuid: str
    state: str
    ref: NetworkRef
    services: dict[Service, str] = field(default_factory=dict)

    def providers(self) -> list[str]:
        """The distinct providers, in the order of :class:`Service`."""
        ordered = sorted(self.services.items(), key=lambda item: list(Service).index(item[0]))
        return list(dict.fromkeys(name for _, name in ordered if name))


def _netmask(cidr: str | None) -> str:
    if not cidr:
        return ""
    return str(ipaddress.ip_network(cidr, strict=False).netmask)


def network_facts(session: Session, network_id: int) -> NetworkFacts:
    """The network's :class:`NetworkRef`, state and services, in ONE statement.

    :raises InternalError: no such network (a caller's bug; 530).
    """
    rows = session.execute(
        select(
            Network,
            Zone.uuid,
            Zone.dns1,
            Zone.dns2,
            NetworkOffering.egress_default_policy,
            NetworkServiceMap.service,
            NetworkServiceMap.provider,
        )
        .join(Zone, Zone.id == Network.data_center_id)
        .join(NetworkOffering, NetworkOffering.id == Network.network_offering_id)
        .outerjoin(NetworkServiceMap, NetworkServiceMap.network_id == Network.id)
        .where(Network.id == network_id)
    ).all()
    if not rows:
        raise InternalError(f"network id={network_id} does not exist")
    network, zone_uuid, zone_dns1, zone_dns2, egress_allow = rows[0][:5]
    services = {
        Service(name): provider_name or ""
        for *_, name, provider_name in rows
        if name in _SERVICE_NAMES
    }
    dns = (network.dns1, network.dns2) if network.dns1 else (zone_dns1, zone_dns2)
    ref = NetworkRef(
        uuid=network.uuid,
        name=network.name or "",
        zone_uuid=zone_uuid,
        guest_type=network.guest_type or "",
        cidr=network.cidr or "",
        gateway=network.gateway or "",
        netmask=_netmask(network.cidr),
        broadcast_uri=network.broadcast_uri or "vlan://untagged",
        network_domain=network.network_domain or "",
        dns=tuple(server for server in dns if server),
        egress_default_allow=bool(egress_allow),
    )
    return NetworkFacts(network.id, network.uuid, network.state, ref, services)


def network_ref(session: Session, network_id: int) -> NetworkRef:
    """The network as providers see it (one statement)."""
    return network_facts(session, network_id).ref


def public_ips(session: Session, network_id: int) -> tuple[PublicIp, ...]:
    """The public addresses associated with the network (being associated or held),
    the source-NAT one first, with their range's netmask, gateway and VLAN (one
    statement)."""
    rows = session.execute(
        select(
            UserIpAddress.public_ip_address,
            UserIpAddress.source_nat,
            VlanIpRange.vlan_netmask,
            VlanIpRange.vlan_gateway,
            VlanIpRange.vlan_id,
        )
        .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
        .where(
            UserIpAddress.associated_with_network_id == network_id,
            UserIpAddress.state.in_((IpState.ALLOCATING.value, IpState.ALLOCATED.value)),
        )
        .order_by(case((UserIpAddress.source_nat.is_(True), 0), else_=1), UserIpAddress.ip_num)
    ).all()
    return tuple(
        PublicIp(
            address=address,
            netmask=netmask or "",
            gateway=gateway or "",
            broadcast_uri=_vlan_uri(tag),
            source_nat=bool(source_nat),
        )
        for address, source_nat, netmask, gateway, tag in rows
    )


def _vlan_uri(tag: str | None) -> str:
    if not tag or tag.lower() == "untagged":
        return "vlan://untagged"
    return tag if tag.startswith("vlan://") else f"vlan://{tag}"


def guest_nic(session: Session, network_id: int, nic_id: int, password: str = "") -> GuestNic:
    """A VM's NIC with what DHCP, DNS and the metadata service serve for it, in ONE
    statement (the NIC, its VM, the VM's offering and zone, the network's source-NAT
    address); the NIC may already be removed (a release).

    Metadata as 4.1's router serves it (``VirtualNetworkApplianceManagerImpl.
    generateVmDataCommand``): ``service-offering``, ``availability-zone``, ``local-ipv4``,
    ``local-hostname``, ``public-ipv4`` and ``public-hostname`` (the network's
    source-NAT address; the guest address where there is none), ``instance-id``,
    ``vm-id`` and ``public-keys`` when the VM has a key pair.

    :raises InternalError: no such NIC (530).
    """
    snat = (
        select(UserIpAddress.public_ip_address)
        .where(
            UserIpAddress.associated_with_network_id == network_id,
            UserIpAddress.source_nat.is_(True),
            UserIpAddress.state != IpState.FREE.value,
        )
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(
        select(
            Nic.mac_address,
            Nic.ip4_address,
            Nic.is_default,
            VirtualMachine.id,
            VirtualMachine.uuid,
            VirtualMachine.instance_name,
            VirtualMachine.name,
            VirtualMachine.display_name,
            VirtualMachine.user_data,
            VirtualMachine.ssh_public_key,
            ServiceOffering.display_text,
            Zone.name,
            snat.label("public_ip"),
        )
        .join(VirtualMachine, VirtualMachine.id == Nic.instance_id)
        .join(Zone, Zone.id == VirtualMachine.data_center_id)
        .outerjoin(ServiceOffering, ServiceOffering.id == VirtualMachine.service_offering_id)
        .where(Nic.id == nic_id)
    ).first()
    if row is None:
        raise InternalError(f"NIC id={nic_id} does not exist")
    (mac, ip, is_default, vm_id, vm_uuid, instance, name, display, user_data, key,
     offering_text, zone_name, public_ip) = row  # fmt: skip
    hostname = name or display or instance
    metadata = {
        "service-offering": offering_text or "",
        "availability-zone": zone_name,
        "local-ipv4": ip or "",
        "local-hostname": hostname,
        "public-ipv4": public_ip or ip or "",
        "public-hostname": public_ip or hostname,
        "instance-id": instance,
        "vm-id": str(vm_id),
    }
    if key:
        metadata["public-keys"] = key
    return GuestNic(
        vm_uuid=vm_uuid,
        instance_name=instance,
        hostname=hostname,
        mac_address=mac,
        ip_address=ip or "",
        is_default=bool(is_default),
        user_data=user_data,
        metadata=metadata,
        password=password,
    )


# ---- calling providers ----------------------------------------------------------------


def _context(
    session: Session, context: NetworkContext | None, runtime: Runtime | None
) -> NetworkContext:
    if context is not None:
        return context
    from cumulo.network.context import CoreNetworkContext

    return CoreNetworkContext(session, runtime)


@contextmanager
def _provider_errors(what: str) -> Iterator[None]:
    try:
        yield
    except ProviderUnreachable as exc:
        raise ResourceUnavailable(f"{what}: {exc}") from exc
    except NetworkProviderError as exc:
        raise ProviderRefusedError(f"{what}: {exc}") from exc


def _providers(facts: NetworkFacts) -> list[tuple[str, NetworkProvider]]:
    return [(name, provider(name)) for name in facts.providers()]


def _build(session: Session, facts: NetworkFacts, service: Service) -> Any:
    if service == Service.SOURCE_NAT:
        return public_ips(session, facts.id)
    builder = _BUILDERS.get(service)
    if builder is None:
        raise InternalError(f"no rule set is registered for service {service.value}")
    return builder(session, facts.id)


def _call_apply(
    target: NetworkProvider, ctx: NetworkContext, facts: NetworkFacts, service: Service, rules: Any
) -> None:
    name = facts.services[service]
    with _provider_errors(f"{name} failed to apply {service.value} on network {facts.uuid}"):
        if service == Service.SOURCE_NAT:
            target.apply_source_nat(ctx, facts.ref, rules)
        else:
            getattr(target, RULE_METHODS[service])(ctx, facts.ref, rules)


def apply(
    session: Session,
    network_id: int,
    service: Service,
    *,
    context: NetworkContext | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Give the provider of ``service`` on the network the whole current set of that
    service (module doc); a no-op while the network is not implemented (its rules are
    applied by :func:`implement`) or when it does not offer the service.

    Commits the session's transaction before the provider call.

    :raises ResourceUnavailable: the provider is not installed or did not answer (534).
    :raises ProviderRefusedError: the provider refused the set (530, its message).
    """
    service = Service(service)
    facts = network_facts(session, network_id)
    if facts.state not in SERVING_STATES or service not in facts.services:
        return
    target = provider(facts.services[service])
    rules = _build(session, facts, service)
    ctx = _context(session, context, runtime)
    session.commit()
    _call_apply(target, ctx, facts, service, rules)


def implement(
    session: Session,
    network_id: int,
    *,
    context: NetworkContext | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Make the network usable: every provider's ``implement`` (with the network's
    public addresses), then source NAT and every registered rule set of the services
    the network has, each to its provider (:data:`APPLY_ORDER`). Whatever the network's
    state (the caller, the network lifecycle, decides when to implement).

    Commits the session's transaction before the provider calls.

    :raises ResourceUnavailable: a provider is not installed or did not answer (534).
    :raises ProviderRefusedError: a provider refused (530, its message).
    """
    facts = network_facts(session, network_id)
    targets = _providers(facts)
    addresses = public_ips(session, network_id)
    sets = [
        (service, addresses if service == Service.SOURCE_NAT else _build(session, facts, service))
        for service in APPLY_ORDER
        if service in facts.services and (service == Service.SOURCE_NAT or service in _BUILDERS)
    ]
    ctx = _context(session, context, runtime)
    session.commit()
    for name, target in targets:
        with _provider_errors(f"{name} failed to implement network {facts.uuid}"):
            target.implement(ctx, facts.ref, addresses)
    for service, rules in sets:
        _call_apply(provider(facts.services[service]), ctx, facts, service, rules)


def prepare_nic(
    session: Session,
    network_id: int,
    nic_id: int,
    *,
    password: str = "",
    context: NetworkContext | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Tell every provider of the network that the NIC's VM is starting on it (DHCP
    reservation, DNS name, userdata, metadata, the password to serve once).

    :param password: a new guest password to serve once (password-enabled templates).
    :raises ResourceUnavailable: a provider is not installed or did not answer (534).
    :raises ProviderRefusedError: a provider refused (530, its message).
    """
    facts = network_facts(session, network_id)
    targets = _providers(facts)
    nic = guest_nic(session, network_id, nic_id, password)
    ctx = _context(session, context, runtime)
    session.commit()
    for name, target in targets:
        with _provider_errors(f"{name} failed to prepare {nic.instance_name} on {facts.uuid}"):
            target.prepare(ctx, facts.ref, nic)


def release_nic(
    session: Session,
    network_id: int,
    nic_id: int,
    *,
    context: NetworkContext | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Tell every provider of the network that the NIC is gone (its VM expunged).

    :raises ResourceUnavailable: a provider is not installed or did not answer (534).
    :raises ProviderRefusedError: a provider refused (530, its message).
    """
    facts = network_facts(session, network_id)
    targets = _providers(facts)
    nic = guest_nic(session, network_id, nic_id)
    ctx = _context(session, context, runtime)
    session.commit()
    for name, target in targets:
        with _provider_errors(f"{name} failed to release {nic.instance_name} on {facts.uuid}"):
            target.release(ctx, facts.ref, nic)


def _lifecycle(
    session: Session,
    network_id: int,
    method: str,
    context: NetworkContext | None,
    runtime: Runtime | None,
) -> None:
    facts = network_facts(session, network_id)
    targets = _providers(facts)
    ctx = _context(session, context, runtime)
    session.commit()
    for name, target in targets:
        with _provider_errors(f"{name} failed to {method} network {facts.uuid}"):
            getattr(target, method)(ctx, facts.ref)


def shutdown(
    session: Session,
    network_id: int,
    *,
    context: NetworkContext | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Every provider of the network stops what :func:`implement` started (the rules
    stay in the database).

    :raises ResourceUnavailable: a provider is not installed or did not answer (534).
    :raises ProviderRefusedError: a provider refused (530, its message).
    """
    _lifecycle(session, network_id, "shutdown", context, runtime)


def destroy(
    session: Session,
    network_id: int,
    *,
    context: NetworkContext | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Every provider of the network removes everything of it (the network is deleted).

    :raises ResourceUnavailable: a provider is not installed or did not answer (534).
    :raises ProviderRefusedError: a provider refused (530, its message).
    """
    _lifecycle(session, network_id, "destroy", context, runtime)
