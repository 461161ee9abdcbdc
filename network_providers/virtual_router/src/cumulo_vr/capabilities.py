"""What the virtual router offers, with 4.1's capability names and value spellings.

``SupportedStickinessMethods`` is the JSON list 4.1 renders for ``listNetworks``
(REQ-LB-02): per method its name, a description and its parameters (name, whether
required, whether a flag, a description). The descriptions are cumulo's own words.
"""

from __future__ import annotations

import json
from types import MappingProxyType

from cumulo.sdk.network import Capabilities, Service


def _param(name: str, description: str, *, flag: bool = False) -> dict[str, object]:
    return {"paramname": name, "required": False, "isflag": flag, "description": description}


STICKINESS_METHODS: list[dict[str, object]] = [
    {
        "methodname": "LbCookie",
        "description": "The load balancer inserts (or rewrites) a cookie naming the server.",
        "paramlist": [
            _param("cookie-name", "Name of the cookie the load balancer sets."),
            _param("mode", "insert (default), rewrite or prefix."),
            _param("nocache", "Mark responses carrying the cookie non-cacheable.", flag=True),
            _param("indirect", "Insert the cookie only when a server was chosen.", flag=True),
            _param("postonly", "Insert the cookie only in responses to POST.", flag=True),
            _param("domain", "Domain the cookie is valid for."),
        ],
    },
    {
        "methodname": "AppCookie",
        "description": "Sessions follow a cookie the application sets (HTTP only).",
        "paramlist": [
            _param("cookie-name", "Name of the application's cookie."),
            _param("length", "Characters of the cookie value remembered (default 52)."),
            _param("holdtime", "Time an unused session is remembered, e.g. 30m, 3h (default 3h)."),
            _param("request-learn", "Also learn the cookie from requests.", flag=True),
            _param("prefix", "Match on the cookie name's prefix.", flag=True),
            _param("mode", "path-parameters (default) or query-string."),
        ],
    },
    {
        "methodname": "SourceBased",
        "description": "The client's source address chooses the server (any protocol).",
        "paramlist": [
            _param("tablesize", "Addresses remembered, e.g. 200k (default 200k)."),
            _param("expire", "Time an address is remembered, e.g. 30m, 3h (default 3h)."),
        ],
    },
]

VIRTUAL_ROUTER_CAPABILITIES: Capabilities = MappingProxyType(
    {
        Service.DHCP: {},
        # The network domain can be changed (updateNetwork networkdomain).
        Service.DNS: {"AllowDnsSuffixModification": "true"},
        Service.GATEWAY: {},
        Service.USER_DATA: {},
        Service.FIREWALL: {
            "SupportedProtocols": "tcp,udp,icmp",
            "SupportedEgressProtocols": "tcp,udp,icmp, all",
            "SupportedTrafficDirection": "ingress, egress",
            "MultipleIps": "true",
            "TrafficStatistics": "per public ip",
        },
        Service.SOURCE_NAT: {
            "SupportedSourceNatTypes": "peraccount",
            # One router per network: redundant router pairs (VRRP) are not implemented.
            "RedundantRouter": "false",
        },
        Service.STATIC_NAT: {},
        Service.PORT_FORWARDING: {},
        Service.LB: {
            "SupportedLBAlgorithms": "roundrobin,leastconn,source",
            "SupportedLBIsolation": "dedicated",
            # haproxy balances TCP (4.1 claimed "tcp, udp" but its haproxy did not do UDP).
            "SupportedProtocols": "tcp",
            "SupportedStickinessMethods": json.dumps(STICKINESS_METHODS, separators=(",", ":")),
        },
        Service.VPN: {
            "SupportedVpnProtocols": "l2tp,ipsec",
            "VpnTypes": "removeaccessvpn",  # sic: 4.1's spelling, which clients see
        },
    }
)

SECURITY_GROUP_CAPABILITIES: Capabilities = MappingProxyType({Service.SECURITY_GROUP: {}})
