"""The network-provider contract: what the management server asks of a virtual router,
a security-group provider, a Juniper SRX, a NetScaler or an F5, and the value objects
exchanged.

One :class:`NetworkProvider` subclass per provider, registered under the entry-point
group ``cumulo.network_providers`` with the provider's 4.1 name (``VirtualRouter``,
``SecurityGroupProvider``, ``JuniperSRX``, ``Netscaler``, ``F5BigIp``). As for
hypervisors, the core instantiates it once per process with no arguments and calls it
from job workers of several processes: a provider keeps no state in memory that another
process would need.

**Whole desired state, not deltas.** Every ``apply_*`` method receives the *complete*
set of rules of its kind that the network must have after the call (rules being revoked
are already left out), so applying is idempotent: applying the same set twice changes
nothing, and a retried job converges. A provider that renders configuration (the virtual
router: ``iptables-restore``, dnsmasq, haproxy) renders it from the set and replaces the
previous configuration atomically; a provider that speaks a device API (SRX, NetScaler)
computes the difference with what the device has.

**Which provider gets what.** The network's offering names one provider per service
(``Firewall`` → ``VirtualRouter``, ``Lb`` → ``Netscaler`` ...). The core's orchestrator
calls :meth:`NetworkProvider.implement` on every provider the network uses, and each
``apply_*`` method only on the provider of that service: a provider never sees rules of
a service it does not provide for this network.

**Reaching devices.** A provider that runs on a system VM (the virtual router) asks the
core for that VM through the :class:`NetworkContext` it is given; the core deploys it
with the hypervisor driver of the zone and tells the provider how to reach it
(:attr:`RouterRef.access_uri`).

Errors: every failure is a :class:`NetworkProviderError`; :class:`ProviderUnreachable`
when the device or router did not answer (the job fails, the rules stay in their
``Add``/``Revoke`` state and a retry re-applies), :class:`ProviderRefused` when it
answered with a failure (bad rule for this device: the message is shown to the user).
Value objects are frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from cumulo.sdk.driver import Driver

# ---- errors --------------------------------------------------------------------------


class NetworkProviderError(Exception):
    """Base of every error a network provider raises; ``str()`` is one operator line."""


class ProviderUnreachable(NetworkProviderError):
    """The router or device did not answer (SSH to the router's control address timed
    out, the SRX/NetScaler API refused the connection)."""


class ProviderRefused(NetworkProviderError):
    """The router or device answered and refused the configuration (e.g. NetScaler:
    algorithm unsupported; router: ``iptables-restore`` rejected the ruleset)."""


# ---- services and capabilities -------------------------------------------------------


class Service(enum.StrEnum):
    """4.1's ``Network.Service`` names."""

    VPN = "Vpn"
    DHCP = "Dhcp"
    DNS = "Dns"
    GATEWAY = "Gateway"
    FIREWALL = "Firewall"
    LB = "Lb"
    USER_DATA = "UserData"
    SOURCE_NAT = "SourceNat"
    STATIC_NAT = "StaticNat"
    PORT_FORWARDING = "PortForwarding"
    SECURITY_GROUP = "SecurityGroup"
    NETWORK_ACL = "NetworkACL"
    CONNECTIVITY = "Connectivity"


Capabilities = Mapping[Service, Mapping[str, str]]
"""Service → capability name → value, with 4.1's names and value spellings, e.g.
``{Service.LB: {"SupportedLBAlgorithms": "roundrobin,leastconn,source",
"SupportedStickinessMethods": "<json list as 4.1 renders it>"}, Service.DHCP: {}}``.
``listNetworks`` and ``listSupportedNetworkServices`` show these values."""


# ---- value objects -------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkRef:
    """A guest network as providers see it.

    :param uuid: the network's public id (stable; the key of everything a provider keeps).
    :param name: its name.
    :param zone_uuid: its zone.
    :param guest_type: ``Isolated`` or ``Shared``.
    :param cidr: the guest CIDR (``10.1.1.0/24``).
    :param gateway: the guest gateway, the router's guest address when a router serves
        the network.
    :param netmask: the guest netmask.
    :param broadcast_uri: ``vlan://<tag>`` (``vlan://untagged`` for none).
    :param network_domain: DNS suffix of the VMs' names (``cs2cloud.internal``).
    :param dns: the zone's DNS servers (dns1, dns2) a router forwards to.
    :param egress_default_allow: the egress default policy of the network's offering
        (4.1: isolated networks allow egress until an egress rule exists).
    :param details: provider-specific extras.
    """

    uuid: str
    name: str
    zone_uuid: str
    guest_type: str
    cidr: str
    gateway: str
    netmask: str
    broadcast_uri: str = "vlan://untagged"
    network_domain: str = ""
    dns: tuple[str, ...] = ()
    egress_default_allow: bool = True
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublicIp:
    """A public address associated with the network.

    :param address: the address.
    :param netmask: its range's netmask.
    :param gateway: its range's gateway.
    :param broadcast_uri: its range's VLAN (``vlan://untagged`` for none).
    :param source_nat: whether it is the network's source-NAT address.
    """

    address: str
    netmask: str
    gateway: str
    broadcast_uri: str = "vlan://untagged"
    source_nat: bool = False


@dataclass(frozen=True)
class GuestNic:
    """A VM's NIC on the network, with what DHCP, DNS and the metadata service serve.

    :param vm_uuid: the VM's public id.
    :param instance_name: ``i-2-10-VM``.
    :param hostname: the VM's host name (its display name unless set otherwise); DNS
        serves ``<hostname>.<network_domain>``.
    :param mac_address: the NIC's MAC; DHCP reserves :attr:`ip_address` for it.
    :param ip_address: its guest address.
    :param is_default: whether this is the VM's default NIC (only then does DHCP hand
        out the gateway and DNS servers, as 4.1's router does).
    :param user_data: base64 userdata as the API took it (``None``: none).
    :param metadata: the metadata files 4.1's router serves (``instance-id``,
        ``local-hostname``, ``service-offering``, ``availability-zone``,
        ``public-keys`` ...), name → content.
    :param password: a new password to serve once (password-enabled templates), or empty.
    """

    vm_uuid: str
    instance_name: str
    hostname: str
    mac_address: str
    ip_address: str
    is_default: bool = True
    user_data: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class PortRange:
    """An inclusive port range; ``None`` ends for protocols without ports."""

    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class FirewallRule:
    """An ingress firewall rule on a public IP (4.1 ``createFirewallRule``), or, with
    ``public_ip`` empty, an egress rule of the network (``createEgressFirewallRule``).

    :param uuid: the rule's id.
    :param protocol: ``tcp``, ``udp``, ``icmp`` or ``all``.
    :param ports: for tcp/udp.
    :param icmp_type: for icmp, ``-1`` for any.
    :param icmp_code: for icmp, ``-1`` for any.
    :param cidrs: source CIDRs (ingress) or guest source CIDRs (egress).
    :param public_ip: the IP the rule opens (ingress); empty for egress.
    """

    uuid: str
    protocol: str
    ports: PortRange = PortRange()
    icmp_type: int | None = None
    icmp_code: int | None = None
    cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    public_ip: str = ""


@dataclass(frozen=True)
class PortForwardingRule:
    """Traffic to ``public_ip``:``public_ports`` is forwarded to ``guest_ip``:
    ``private_ports`` (ranges of equal length)."""

    uuid: str
    public_ip: str
    protocol: str
    public_ports: PortRange
    guest_ip: str
    private_ports: PortRange


@dataclass(frozen=True)
class StaticNatRule:
    """``public_ip`` maps one to one, both ways, to ``guest_ip`` (``enableStaticNat``);
    ``createIpForwardingRule`` rules narrow what is forwarded and arrive as
    :class:`FirewallRule` entries on the same public IP."""

    public_ip: str
    guest_ip: str
    vm_uuid: str = ""


@dataclass(frozen=True)
class StickinessPolicy:
    """A load balancer's stickiness (``createLBStickinessPolicy``).

    :param method: ``LbCookie``, ``AppCookie`` or ``SourceBased``.
    :param params: the method's parameters as the API took them (``cookie-name``,
        ``mode``, ``length``, ``holdtime``, ``tablesize``, ``expire`` ...).
    """

    name: str
    method: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadBalancerBackend:
    """A VM behind a load balancer."""

    vm_uuid: str
    guest_ip: str


@dataclass(frozen=True)
class LoadBalancerRule:
    """A load balancer on a public IP (``createLoadBalancerRule``).

    :param algorithm: ``roundrobin``, ``leastconn`` or ``source``.
    :param backends: the VMs assigned (``assignToLoadBalancerRule``); a rule with none is
        still rendered (the port listens and refuses).
    """

    uuid: str
    name: str
    public_ip: str
    public_port: int
    private_port: int
    algorithm: str
    protocol: str = "tcp"
    backends: tuple[LoadBalancerBackend, ...] = ()
    stickiness: StickinessPolicy | None = None
    cidrs: tuple[str, ...] = ("0.0.0.0/0",)


@dataclass(frozen=True)
class SecurityGroupRule:
    """One rule of a security group, with account/group sources already resolved to
    the addresses of the VMs in those groups (the core keeps that set current).

    :param direction: ``ingress`` or ``egress``.
    :param cidrs: peer CIDRs (sources for ingress, destinations for egress).
    """

    uuid: str
    direction: str
    protocol: str
    ports: PortRange = PortRange()
    icmp_type: int | None = None
    icmp_code: int | None = None
    cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class VmSecurityRules:
    """Everything one VM's security groups allow (4.1: ingress denied unless allowed;
    egress allowed unless the VM's groups have egress rules, then denied unless allowed).
    """

    vm_uuid: str
    instance_name: str
    mac_address: str
    ip_address: str
    rules: tuple[SecurityGroupRule, ...] = ()


@dataclass(frozen=True)
class VpnUser:
    """A remote-access VPN user; ``password`` is clear text here (decrypted by the core
    for the provider only) and must never be logged."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RemoteAccessVpn:
    """An L2TP/IPsec remote-access VPN on a public IP (``createRemoteAccessVpn``).

    :param ip_range: the client address range, ``start-end``
        (``remote.access.vpn.client.ip.range``).
    :param local_ip: the router's address on the client side (the range's first address
        in 4.1).
    :param preshared_key: the IPsec pre-shared key (clear text here; never logged).
    """

    public_ip: str
    ip_range: str
    local_ip: str
    preshared_key: str = field(repr=False)
    users: tuple[VpnUser, ...] = ()


@dataclass(frozen=True)
class RouterRef:
    """A virtual router system VM the core runs for a network.

    :param uuid: the router's id (``listRouters``).
    :param instance_name: ``r-12-VM``.
    :param guest_ip: its address on the guest network (the network's gateway).
    :param public_ip: its source-NAT address, or empty (shared networks).
    :param control_ip: its link-local control address (169.254.x.x).
    :param access_uri: how its configuration is pushed: ``ssh://<control_ip>:3922`` in
        production; ``netns://<namespace>`` for a router living in a network namespace
        (tests); ``file:///dir`` for a router on a simulated host (the simulator has no
        VM to reach; the configuration is written where tests and operators can read it).
    """

    uuid: str
    instance_name: str
    guest_ip: str
    public_ip: str = ""
    control_ip: str = ""
    access_uri: str = ""


class NetworkContext:
    """What the core offers a provider during a call (implemented by the core; providers
    only call it)."""

    def ensure_router(self, network: NetworkRef) -> RouterRef:
        """Deploy and start the network's virtual router if it is not running, and
        return it. Blocks until it runs (a system VM start through the zone's hypervisor
        driver). Idempotent: a running router is returned as it is.

        :raises ProviderUnreachable: the router could not be started.
        """
        raise NotImplementedError

    def find_router(self, network: NetworkRef) -> RouterRef | None:
        """The network's running router, or ``None``; never starts one."""
        raise NotImplementedError

    def destroy_router(self, network: NetworkRef) -> None:
        """Stop and expunge the network's router; idempotent."""
        raise NotImplementedError


# ---- the contract --------------------------------------------------------------------


class NetworkProvider(Driver):
    """The contract of a network service provider. Every method may block (job workers
    call it); every method raises only :class:`NetworkProviderError` subclasses.

    Methods for services a provider does not offer keep the default, which refuses with
    :class:`ProviderRefused`: the orchestrator never calls them when offerings are
    consistent with :meth:`capabilities`.
    """

    def capabilities(self) -> Capabilities:
        """The services this provider can offer and their capabilities (constant)."""
        raise NotImplementedError

    def implement(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        """Make the network usable (first VM starting, a persistent network created,
        ``restartNetwork``): the virtual router starts its router through ``ctx`` and
        configures interfaces, an SRX creates its zone and interfaces. Idempotent.

        :param public_ips: the network's public IPs, the source-NAT one included.
        """
        raise NotImplementedError

    def prepare(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        """A VM's NIC is about to start on the network: serve its DHCP reservation,
        DNS name, userdata, metadata and password. Idempotent (a restarted VM is
        prepared again with the same NIC)."""
        raise NotImplementedError

    def release(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        """The NIC is gone (its VM expunged): stop serving it. Idempotent."""
        raise NotImplementedError

    def shutdown(self, ctx: NetworkContext, network: NetworkRef) -> None:
        """The network is shut down (garbage collector, ``restartNetwork cleanup=true``):
        stop what :meth:`implement` started; rules stay in the database and are applied
        again at the next :meth:`implement`. Idempotent."""
        raise NotImplementedError

    def destroy(self, ctx: NetworkContext, network: NetworkRef) -> None:
        """The network is deleted: remove everything of it. Idempotent."""
        raise NotImplementedError

    def apply_firewall_rules(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[FirewallRule, ...]
    ) -> None:
        """The whole ingress firewall rule set (public IPs) and egress rule set (rules
        whose ``public_ip`` is empty) of the network."""
        raise ProviderRefused(f"{self.name} does not provide Firewall")

    def apply_port_forwarding(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[PortForwardingRule, ...]
    ) -> None:
        """The whole port-forwarding rule set of the network."""
        raise ProviderRefused(f"{self.name} does not provide PortForwarding")

    def apply_static_nat(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[StaticNatRule, ...]
    ) -> None:
        """The whole static-NAT set of the network."""
        raise ProviderRefused(f"{self.name} does not provide StaticNat")

    def apply_load_balancers(
        self, ctx: NetworkContext, network: NetworkRef, rules: tuple[LoadBalancerRule, ...]
    ) -> None:
        """The whole load-balancer set of the network, with backends and stickiness."""
        raise ProviderRefused(f"{self.name} does not provide Lb")

    def apply_source_nat(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        """The network's public IPs (source NAT through the one marked
        :attr:`PublicIp.source_nat`): called when IPs are associated or released."""
        raise ProviderRefused(f"{self.name} does not provide SourceNat")

    def apply_vpn(
        self, ctx: NetworkContext, network: NetworkRef, vpn: RemoteAccessVpn | None
    ) -> None:
        """The network's remote-access VPN with all its users; ``None`` removes it."""
        raise ProviderRefused(f"{self.name} does not provide Vpn")

    def apply_security_groups(
        self, ctx: NetworkContext, network: NetworkRef, vms: tuple[VmSecurityRules, ...]
    ) -> None:
        """The network's whole SecurityGroup set: every VM with a NIC on the network
        that is in a security group, each with all its rules — what the core's rule-set
        builder returns and the compliance kit checks. A VM left out loses its rules."""
        raise ProviderRefused(f"{self.name} does not provide SecurityGroup")
