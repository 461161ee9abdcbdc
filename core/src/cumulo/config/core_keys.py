"""The core's global configuration keys: every key REQUIREMENTS.md names (CAP-16 §19.2),
plus the few the core itself uses that the seed does not name.

Contributed through the same hook as a plugin's keys (``cumulo_configuration_keys``);
``cumulo.plugins.get_plugin_manager`` registers this module as a built-in plugin under
its module name. Defaults, categories and scopes are CloudStack's (``Config.java``):
where the seed says "not stated", the value is CloudStack's real default.

Two keys are spelled differently by the seed and by CloudStack's code. The registered
name is CloudStack's, so ``listConfigurations`` shows what CloudStack clients expect;
the seed's spelling is an alias that resolves to it (:data:`ALIASES`).
"""

from __future__ import annotations

from collections.abc import Callable

from cumulo import hookimpl
from cumulo.config.validation import ip_range
from cumulo.sdk import ConfigKey, Scope, ValueType

ADVANCED, NETWORK, USAGE, ACCOUNT_DEFAULTS = "Advanced", "Network", "Usage", "Account Defaults"
# The ``component`` CloudStack records for management-server keys in ``configuration``.
COMPONENT = "management-server"

# Compact one-key-per-block layout; the formatter would put every argument on its own line.
# fmt: off
CORE_KEYS: tuple[ConfigKey, ...] = (
    # ---- management server and API (Seed §7.2, §11.3.1, §12.6) ------------------------
    ConfigKey(
        "host", ValueType.STRING, "localhost",
        "IP address of the management server; with several servers, the load-balanced "
        "address reachable from the private network.",
        ADVANCED,
    ),
    ConfigKey(
        "management.network.cidr", ValueType.CIDR, None,
        "CIDR of the network the management servers live in; required with vSphere, "
        "recommended everywhere.",
        ADVANCED,
    ),
    ConfigKey(
        "default.page.size", ValueType.INTEGER, "500",
        "Most items an API list command returns per page; callers may ask for fewer.",
        ADVANCED, minimum=1,
    ),
    ConfigKey(
        "integration.api.port", ValueType.INTEGER, None,
        "Port of the unauthenticated integration API (CloudStack uses 8096); unset keeps "
        "it disabled. It listens on localhost only.",
        ADVANCED, restart_required=True, minimum=1, maximum=65535,
    ),
    ConfigKey(
        "endpointe.url", ValueType.URL, "http://localhost:8080/client/api",
        "URL of the management server API that devices call back, e.g. NetScaler "
        "AutoScale; behind a load balancer, the management cluster's virtual IP.",
        ADVANCED,
    ),
    ConfigKey(
        "enable.ec2.api", ValueType.BOOLEAN, "false",
        "Serve the EC2-compatible query API.",
        ADVANCED, restart_required=True,
    ),
    ConfigKey(
        "enable.s3.api", ValueType.BOOLEAN, "false",
        "Serve the S3-compatible API.",
        ADVANCED, restart_required=True,
    ),
    # ---- security: not in the seed; cumulo setup-databases seeds it ---------------------
    ConfigKey(
        "security.singlesignon.key", ValueType.STRING, None,
        "Key that signs single sign-on login requests; also proves the database key "
        "when another management server is set up.",
        "Secure", secret=True,
    ),
    # ---- storage (Seed §6.3, §6.7.1, §7.2) --------------------------------------------
    ConfigKey(
        "use.local.storage", ValueType.BOOLEAN, "false",
        "Use host-local storage for data disks, templates and snapshots; only when its "
        "reliability and feature limits are understood.",
        ADVANCED,
    ),
    ConfigKey(
        "system.vm.local.storage.required", ValueType.BOOLEAN, "false",
        "Let system VMs run on host-local storage; must be true when no shared primary "
        "storage exists, or VMs cannot start.",
        ADVANCED,
    ),
    ConfigKey(
        "secstorage.allowed.internal.sites", ValueType.CIDR_LIST, None,
        "Comma-separated CIDRs of internal template servers; the secondary storage VM "
        "downloads from them over its private interface.",
        ADVANCED,
    ),
    ConfigKey(
        "swift.enable", ValueType.BOOLEAN, "false",
        "Use OpenStack Swift as the cloud-wide secondary storage.",
        ADVANCED, restart_required=True,
    ),
    # ---- hypervisors (Seed §6.6, §7.2, §8.3.5) ----------------------------------------
    ConfigKey(
        "ha.tag", ValueType.STRING, None,
        "Host tag of hosts reserved for restarting HA-enabled VMs after a host failure.",
        ADVANCED,
    ),
    ConfigKey(
        "xen.setup.multipath", ValueType.BOOLEAN, "false",
        "Enable iSCSI multipath on XenServer hosts when they are added.",
        ADVANCED,
    ),
    ConfigKey(
        "vmware.management.portgroup", ValueType.STRING, "Management Network",
        "Name of the management network port group on ESXi hosts.",
        ADVANCED,
    ),
    ConfigKey(
        "vmware.private.vswitch", ValueType.STRING, None,
        "vSwitch of ESXi hosts carrying management traffic; unset means vSwitch0.",
        ADVANCED,
    ),
    ConfigKey(
        "vmware.public.vswitch", ValueType.STRING, None,
        "vSwitch of ESXi hosts carrying public traffic; unset means vSwitch0.",
        ADVANCED,
    ),
    ConfigKey(
        "vmware.guest.vswitch", ValueType.STRING, None,
        "vSwitch of ESXi hosts carrying guest traffic; unset means vSwitch0.",
        ADVANCED,
    ),
    # ---- network (Seed §12.5.2, §12.8, §12.9, §13.14.2, §13.17.1, §13.19.1) -----------
    ConfigKey(
        "guest.vlan.bits", ValueType.INTEGER, "12",
        "Bits of the guest address space given to zone VLAN ids; the rest numbers the "
        "VMs that may run at once per zone.",
        NETWORK, restart_required=True, minimum=1, maximum=12,
    ),
    ConfigKey(
        "firewall.rule.ui.enabled", ValueType.BOOLEAN, "false",
        "Show the Firewall tab of public IP addresses in the UI.",
        NETWORK,
    ),
    ConfigKey(
        "external.network.stats.interval", ValueType.INTEGER, "300",
        "Seconds between network usage collections from external devices (Juniper SRX); "
        "0 disables them.",
        ADVANCED, minimum=0,
    ),
    ConfigKey(
        "direct.network.stats.interval", ValueType.INTEGER, "86400",
        "Seconds between queries to the traffic monitor (Traffic Sentinel).",
        USAGE, minimum=0,
    ),
    ConfigKey(
        "remote.access.vpn.client.iprange", ValueType.STRING, "10.1.2.1-10.1.2.8",
        "Addresses handed to remote-access VPN clients; the first one is the VPN "
        "server's own.",
        NETWORK, scopes=frozenset({Scope.ACCOUNT}),
    ),
    ConfigKey(
        "remote.access.vpn.psk.length", ValueType.INTEGER, "24",
        "Length of the generated IPsec pre-shared key.",
        NETWORK, minimum=8, maximum=256,
    ),
    ConfigKey(
        "remote.access.vpn.user.limit", ValueType.INTEGER, "8",
        "Most VPN users an account may create.",
        NETWORK, minimum=0,
    ),
    ConfigKey(
        "max.account.vpcs", ValueType.INTEGER, "20",
        "Default most VPCs an account may own; -1 means unlimited.",
        ACCOUNT_DEFAULTS, minimum=-1,
    ),
    ConfigKey(
        "vpc.max.networks", ValueType.INTEGER, "3",
        "Most tiers (networks) one VPC may have.",
        ADVANCED, minimum=1,
    ),
    # ---- authentication (cumulo.auth) -------------------------------------------------
    ConfigKey(
        "user.authenticators.order", ValueType.LIST, "PBKDF2,SHA256SALT,MD5,PLAINTEXT",
        "Password authenticators (cumulo.authenticators drivers) tried in this order at "
        "login; the first that accepts the password wins.",
        ADVANCED,
    ),
    ConfigKey(
        "user.password.encoders.order", ValueType.LIST, "PBKDF2,SHA256SALT,MD5",
        "Password encoders tried in this order for new passwords; the first that encodes "
        "is used, and older hashes are re-encoded with it at the next login.",
        ADVANCED,
    ),
    ConfigKey(
        "incorrect.login.attempts.allowed", ValueType.INTEGER, "5",
        "Incorrect login attempts allowed before the user is disabled",
        ADVANCED, minimum=1,
    ),
    ConfigKey(
        "security.singlesignon.tolerance.millis", ValueType.INTEGER, "300000",
        "The allowable clock difference in milliseconds between when an SSO login request "
        "is made and when it is received.",
        ADVANCED, minimum=0,
    ),
    # ---- async jobs and management servers (cumulo.jobs) -------------------------------
    ConfigKey(
        "job.expire.minutes", ValueType.INTEGER, "1440",
        "Time (in minutes) for async-jobs to be kept in system",
        ADVANCED, minimum=1,
    ),
    # CS41 reads these two in ClusterManagerImpl (component management-server) with
    # these defaults, without declaring them in Config.java; later releases declare them.
    ConfigKey(
        "cluster.heartbeat.interval", ValueType.INTEGER, "1500",
        "Interval (in milliseconds) at which each management server records that it is "
        "alive.",
        ADVANCED, restart_required=True, minimum=100,
    ),
    ConfigKey(
        "cluster.heartbeat.threshold", ValueType.INTEGER, "150000",
        "Time (in milliseconds) without a heartbeat after which a management server is "
        "presumed dead and its in-progress jobs are failed.",
        ADVANCED, minimum=1000,
    ),
    # ---- hosts: heartbeat, hypervisors, cluster sizes (CS41 Config.java; REQ-CL-02) ----
    ConfigKey(
        "ping.interval", ValueType.INTEGER, "60",
        "Ping interval in seconds",
        ADVANCED, minimum=1,
    ),
    ConfigKey(
        "ping.timeout", ValueType.FLOAT, "2.5",
        "Multiplier to ping.interval before announcing an agent has timed out",
        ADVANCED, minimum=1,
    ),
    ConfigKey(
        "hypervisor.list", ValueType.LIST, "KVM,XenServer,VMware,BareMetal,Ovm,Simulator",
        "The list of hypervisors that this deployment will use.",
        ADVANCED,
    ),
    ConfigKey(
        "xenserver.max.hosts.per.cluster", ValueType.INTEGER, "8",
        "Most hosts a XenServer cluster (pool) may hold.",
        ADVANCED, minimum=1,
    ),
    ConfigKey(
        "kvm.max.hosts.per.cluster", ValueType.INTEGER, "16",
        "Most hosts a KVM cluster may hold.",
        ADVANCED, minimum=1,
    ),
    ConfigKey(
        "vmware.max.hosts.per.cluster", ValueType.INTEGER, "8",
        "Most hosts a vSphere cluster may hold.",
        ADVANCED, minimum=1,
    ),
)
# fmt: on

ALIASES: dict[str, str] = {
    # The seed (§13.8.5) writes endpoint.url; CloudStack's Config.java spells it endpointe.
    "endpoint.url": "endpointe.url",
    # The seed (§13.17.1) writes ...ip.range; CloudStack's key is ...iprange.
    "remote.access.vpn.client.ip.range": "remote.access.vpn.client.iprange",
}
"""Other spellings of core keys, resolved by the registry to the registered name."""

EXTRA_CHECKS: dict[str, Callable[[ConfigKey, str], str]] = {
    "remote.access.vpn.client.iprange": ip_range,
}
"""Validation beyond what a key's ``ValueType`` can express, applied after it."""


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """The core's keys (see :data:`CORE_KEYS`)."""
    return list(CORE_KEYS)
