"""``haproxy.cfg``: one proxy per load-balancing rule (CAP-26).

Algorithms map one to one (``roundrobin``, ``leastconn``, ``source``). Stickiness, with
4.1's method names and parameters (REQ-LB-01):

- ``LbCookie`` — haproxy inserts (``mode`` ``insert``, the default) or rewrites/prefixes
  the application's cookie ``cookie-name``; flags ``nocache``, ``indirect``,
  ``postonly``; ``domain``. Cookies need HTTP, so the proxy runs in ``mode http``.
- ``AppCookie`` — the application's cookie ``cookie-name`` is learnt from responses
  (and from requests with ``request-learn``) into a stick table (``length``, default
  52; ``holdtime``, default 3h). 4.1 rendered haproxy 1.4's ``appsession``, which
  haproxy 1.6 removed; the stick table is its replacement. ``mode`` ``query-string``
  also matches the value in the URL's query string, ``path-parameters`` (the default)
  in its ``;name=value`` parameters. ``prefix`` is not supported by stick tables and is
  ignored.
- ``SourceBased`` — a stick table on the client address (``tablesize``, default
  200k; ``expire``, default 3h); plain TCP.

A rule without backends is still rendered: the port listens and closes connections.
The rule's ``cidrs`` restrict who may connect (default everyone).
"""

from __future__ import annotations

from collections.abc import Mapping

from cumulo.sdk.network import LoadBalancerRule, ProviderRefused, StickinessPolicy
from cumulo_vr.layout import RUN_DIR, ip_key, slug
from cumulo_vr.render.checks import (
    check_cidr,
    check_duration,
    check_ip,
    check_size,
    check_token,
)
from cumulo_vr.state import RouterState

ALGORITHMS = ("roundrobin", "leastconn", "source")
STICKINESS_METHODS = ("LbCookie", "AppCookie", "SourceBased")
_COOKIE_MODES = ("insert", "rewrite", "prefix")
_FALSE = ("false", "0", "no", "off")


def _flag(params: Mapping[str, str], name: str) -> bool:
    """A flag parameter is set when given, unless given as false (4.1 takes presence)."""
    value = _param(params, name)
    return value is not None and value.strip().lower() not in _FALSE


def _param(params: Mapping[str, str], name: str) -> str | None:
    # Parameter names are case-insensitive in 4.1's stickiness validation.
    for key, value in params.items():
        if key.lower() == name:
            return value
    return None


def _proxy_name(rule: LoadBalancerRule) -> str:
    return f"lb_{slug(check_ip(rule.public_ip))}_{rule.public_port}"


def _check_port(port: int) -> int:
    if not 0 < port <= 65535:
        raise ProviderRefused(f"invalid port {port}")
    return port


def _stickiness(rule: LoadBalancerRule, policy: StickinessPolicy) -> tuple[str, list[str], bool]:
    """(proxy mode, proxy lines, whether servers carry a cookie value)."""
    params = policy.params
    default_cookie = _proxy_name(rule)
    if policy.method == "LbCookie":
        name = check_token(_param(params, "cookie-name") or default_cookie, "cookie-name")
        mode = (_param(params, "mode") or "insert").lower()
        if mode not in _COOKIE_MODES:
            raise ProviderRefused(f"invalid LbCookie mode {mode!r} (insert, rewrite or prefix)")
        words = ["cookie", name, mode]
        words += [flag for flag in ("nocache", "indirect", "postonly") if _flag(params, flag)]
        domain = _param(params, "domain")
        if domain:
            # A leading dot lets the browser send the cookie to every host of the domain.
            words += [
                "domain",
                "." + check_token(domain[1:], "cookie domain")
                if domain.startswith(".")
                else check_token(domain, "cookie domain"),
            ]
        return "http", [" ".join(words)], True
    if policy.method == "AppCookie":
        name = check_token(_param(params, "cookie-name") or default_cookie, "cookie-name")
        length = _param(params, "length") or "52"
        if not length.isdigit() or not 0 < int(length) <= 4096:
            raise ProviderRefused(f"invalid AppCookie length {length!r}")
        holdtime = check_duration(_param(params, "holdtime") or "3h", "holdtime")
        url_mode = (_param(params, "mode") or "path-parameters").lower()
        if url_mode not in ("path-parameters", "query-string"):
            raise ProviderRefused(f"invalid AppCookie mode {url_mode!r}")
        lines = [
            f"stick-table type string len {length} size 200k expire {holdtime}",
            f"stick store-response res.cook({name})",
        ]
        if _flag(params, "request-learn"):
            lines.append(f"stick store-request req.cook({name})")
        lines.append(f"stick match req.cook({name})")
        delimiter = "" if url_mode == "query-string" else ",;"
        lines.append(f"stick match urlp({name}{delimiter})")
        return "http", lines, False
    if policy.method == "SourceBased":
        size = check_size(_param(params, "tablesize") or "200k", "tablesize")
        expire = check_duration(_param(params, "expire") or "3h", "expire")
        return "tcp", [f"stick-table type ip size {size} expire {expire}", "stick on src"], False
    raise ProviderRefused(
        f"stickiness method {policy.method!r} is not supported "
        f"(use {', '.join(STICKINESS_METHODS)})"
    )


def _proxy(rule: LoadBalancerRule) -> list[str]:
    if rule.algorithm not in ALGORITHMS:
        raise ProviderRefused(
            f"algorithm {rule.algorithm!r} is not supported (use {', '.join(ALGORITHMS)})"
        )
    if rule.protocol.lower() not in ("tcp", "tcp-proxy", "http"):
        raise ProviderRefused(f"protocol {rule.protocol!r} is not supported by the router")
    mode, cookies = "tcp", False
    sticky_lines: list[str] = []
    if rule.stickiness is not None:
        mode, sticky_lines, cookies = _stickiness(rule, rule.stickiness)
    lines = [
        f"listen {_proxy_name(rule)}",
        f"    # rule {check_token(rule.uuid, 'rule id')}",
        f"    bind {check_ip(rule.public_ip)}:{_check_port(rule.public_port)}",
        f"    mode {mode}",
        f"    balance {rule.algorithm}",
    ]
    cidrs = sorted({check_cidr(cidr) for cidr in rule.cidrs})
    if cidrs and cidrs != ["0.0.0.0/0"]:
        lines.append(f"    tcp-request connection reject unless {{ src {' '.join(cidrs)} }}")
    if mode == "http":
        lines.append("    option forwardfor")
    lines += [f"    {line}" for line in sticky_lines]
    port = _check_port(rule.private_port)
    for backend in rule.backends:
        address = check_ip(backend.guest_ip)
        server = f"vm_{slug(address)}"
        cookie = f" cookie {server}" if cookies else ""
        lines.append(f"    server {server} {address}:{port} check{cookie}")
    return lines


def render_haproxy(state: RouterState, base: str) -> str:
    """The whole ``haproxy.cfg``; without load balancers, an empty file (the activation
    stops haproxy rather than run it with nothing to do)."""
    if not state.load_balancers:
        return ""
    network = state.network
    out = [
        f"# cumulo virtual router of network {network.uuid if network else '-'}: "
        "rendered from the network's state, do not edit",
        "global",
        "    maxconn 4096",
        f"    pidfile {base}/{RUN_DIR}/haproxy.pid",
        f"    stats socket {base}/{RUN_DIR}/haproxy.sock mode 600 level admin",
        "",
        "defaults",
        "    mode tcp",
        "    retries 3",
        "    option redispatch",
        "    timeout connect 5s",
        "    timeout client 50s",
        "    timeout server 50s",
    ]
    rules = sorted(state.load_balancers, key=lambda r: (ip_key(r.public_ip), r.public_port))
    for rule in rules:
        out.append("")
        out += _proxy(rule)
    return "\n".join(out) + "\n"
