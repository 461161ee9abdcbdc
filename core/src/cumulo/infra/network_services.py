"""The 4.1 catalogue of network services, their capabilities and the providers that
offer them (4.1 ``Network.Service``/``Network.Provider``), for
``listSupportedNetworkServices`` and for validating ``addNetworkServiceProvider``.
"""

from __future__ import annotations

SERVICES: dict[str, tuple[str, ...]] = {
    "Vpn": ("SupportedVpnProtocols", "VpnTypes"),
    "Dhcp": (),
    "Dns": ("AllowDnsSuffixModification",),
    "Gateway": ("RedundantRouter",),
    "Firewall": (
        "SupportedProtocols",
        "MultipleIps",
        "TrafficStatistics",
        "SupportedTrafficDirection",
        "SupportedEgressProtocols",
    ),
    "Lb": (
        "SupportedLBAlgorithms",
        "SupportedLBIsolation",
        "SupportedProtocols",
        "TrafficStatistics",
        "LoadBalancingSupportedIps",
        "SupportedStickinessMethods",
        "ElasticLb",
        "AutoScaleCounters",
        "InlineMode",
    ),
    "UserData": (),
    "SourceNat": ("SupportedSourceNatTypes", "RedundantRouter"),
    "StaticNat": ("ElasticIp", "AssociatePublicIP"),
    "PortForwarding": (),
    "SecurityGroup": (),
    "NetworkACL": ("SupportedProtocols",),
    "Connectivity": (),
}
"""Service name → its capability names, in 4.1's order."""

_ROUTER = (
    "Vpn",
    "Dhcp",
    "Dns",
    "Gateway",
    "Firewall",
    "Lb",
    "UserData",
    "SourceNat",
    "StaticNat",
    "PortForwarding",
)

PROVIDERS: dict[str, tuple[str, ...]] = {
    "VirtualRouter": _ROUTER,
    "VpcVirtualRouter": (*_ROUTER, "NetworkACL"),
    "SecurityGroupProvider": ("SecurityGroup",),
    "JuniperSRX": ("Firewall", "Gateway", "SourceNat", "StaticNat", "PortForwarding", "Vpn"),
    "Netscaler": ("Lb", "StaticNat"),
    "F5BigIp": ("Lb",),
    "NiciraNvp": ("Connectivity",),
    "BigSwitchVns": ("Connectivity",),
    "ExternalDhcpServer": ("Dhcp",),
    "ExternalGateWay": ("Gateway",),
    "ElasticLoadBalancerVm": ("Lb",),
}
"""Provider name → the services it can offer."""

DEFAULT_PROVIDERS = ("VirtualRouter", "VpcVirtualRouter", "SecurityGroupProvider")
"""Providers 4.1 adds to every new physical network (Disabled until configured)."""

TRAFFIC_IMPLEMENTORS: tuple[tuple[str, str], ...] = (
    ("Public", "PublicNetworkGuru"),
    ("Guest", "DirectNetworkGuru"),
    ("Guest", "DirectPodBasedNetworkGuru"),
    ("Guest", "ExternalGuestNetworkGuru"),
    ("Guest", "OvsGuestNetworkGuru"),
    ("Guest", "GuestNetworkGuru"),
    ("Management", "PodBasedNetworkGuru"),
    ("Control", "ControlNetworkGuru"),
    ("Storage", "StorageNetworkGuru"),
)
"""``(traffic type, network guru)``: what ``listTrafficTypeImplementors`` answers."""
