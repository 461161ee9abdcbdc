"""Renderers: the router's whole configuration as a pure function of its state.

:func:`render_router` gives every file of a virtual router — same state and directory,
byte-identical files — and :class:`VirtualRouterRenderer` adds the shell that
validates and activates them (:class:`cumulo_vr.configurator.Renderer`).
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping
from importlib import resources

from cumulo_vr.layout import (
    ACTIVATE_SCRIPT,
    CHAP_SECRETS,
    DNSMASQ_CONF,
    DNSMASQ_DHCP_HOSTS,
    DNSMASQ_NAMES,
    HAPROXY_CFG,
    INTERFACES_SCRIPT,
    IPSEC_CONF,
    IPSEC_SECRETS,
    IPTABLES_RULES,
    METADATA_SERVER,
    PPP_OPTIONS,
    XL2TPD_CONF,
)
from cumulo_vr.render.dnsmasq import render_dhcp_hosts, render_dnsmasq_conf, render_names
from cumulo_vr.render.guestdata import render_guest_data
from cumulo_vr.render.haproxy import render_haproxy
from cumulo_vr.render.iptables import render_iptables
from cumulo_vr.render.scripts import (
    COMPONENTS,
    component_of,
    render_activate,
    render_interfaces,
)
from cumulo_vr.render.vpn import (
    render_chap_secrets,
    render_ipsec_conf,
    render_ipsec_secrets,
    render_ppp_options,
    render_xl2tpd_conf,
)
from cumulo_vr.state import RouterState, state_documents, state_from_documents

_METADATA_SERVER_SOURCE = (
    resources.files("cumulo_vr.router_files").joinpath("metadata_server.py").read_bytes()
)


_Render = Callable[[RouterState, str], dict[str, str | bytes]]

# Each group of files with the parts of the state it is rendered from: a call that
# changes the firewall re-renders the ruleset, not a thousand VMs' metadata.
_GROUPS: tuple[tuple[frozenset[str], _Render], ...] = (
    (
        frozenset(
            {
                "network",
                "public_ips",
                "firewall",
                "port_forwarding",
                "static_nat",
                "load_balancers",
                "vpn",
            }
        ),
        lambda s, b: {IPTABLES_RULES: render_iptables(s)},
    ),
    (
        frozenset({"network", "router", "public_ips"}),
        lambda s, b: {INTERFACES_SCRIPT: render_interfaces(s)},
    ),
    (
        frozenset({"network", "router"}),
        lambda s, b: {
            ACTIVATE_SCRIPT: render_activate(s, b),
            DNSMASQ_CONF: render_dnsmasq_conf(s, b),
        },
    ),
    (
        frozenset({"network", "nics"}),
        lambda s, b: {DNSMASQ_DHCP_HOSTS: render_dhcp_hosts(s), DNSMASQ_NAMES: render_names(s)},
    ),
    (frozenset({"network", "load_balancers"}), lambda s, b: {HAPROXY_CFG: render_haproxy(s, b)}),
    (
        frozenset({"network", "router", "vpn"}),
        lambda s, b: {
            IPSEC_CONF: render_ipsec_conf(s),
            IPSEC_SECRETS: render_ipsec_secrets(s),
            XL2TPD_CONF: render_xl2tpd_conf(s, b),
            PPP_OPTIONS: render_ppp_options(s),
            CHAP_SECRETS: render_chap_secrets(s),
        },
    ),
    (frozenset({"nics"}), lambda s, b: dict(render_guest_data(s))),
)
PARTS = frozenset(field.name for field in dataclasses.fields(RouterState))


def render_router(
    state: RouterState, base: str, parts: frozenset[str] | None = None
) -> dict[str, bytes]:
    """Every file of the router for ``state``, its directory being ``base``; with
    ``parts``, only the files rendered from those parts of the state (what a change of
    those parts can change)."""
    state = state.canonical()
    wanted = PARTS if parts is None else parts
    files: dict[str, bytes] = {}
    for depends_on, render in _GROUPS:
        if depends_on & wanted:
            for path, content in render(state, base).items():
                files[path] = content.encode() if isinstance(content, str) else content
    if parts is None:
        files[METADATA_SERVER] = _METADATA_SERVER_SOURCE
    files.update(state_documents(state, wanted))
    return files


def changed_parts(old: RouterState, new: RouterState) -> frozenset[str]:
    """The parts of the state that differ (the others' files cannot have changed)."""
    return frozenset(part for part in PARTS if getattr(old, part) != getattr(new, part))


class VirtualRouterRenderer:
    """The virtual router's :class:`~cumulo_vr.configurator.Renderer`."""

    def decode(self, documents: Mapping[str, bytes]) -> RouterState:
        return state_from_documents(documents)

    def render(
        self, state: RouterState, base: str, parts: frozenset[str] | None = None
    ) -> dict[str, bytes]:
        return render_router(state, base, parts)

    def changed_parts(self, old: RouterState, new: RouterState) -> frozenset[str]:
        return changed_parts(old, new)

    def validate(self, writes: Mapping[str, bytes]) -> str:
        """``iptables-restore --test``, ``haproxy -c`` and ``dnsmasq --test`` on the staged
        files that changed; a refusal exits 65 with the tool's message."""
        lines = []
        if IPTABLES_RULES in writes:
            lines.append(
                f'iptables-restore -w --test <"$STAGE"/{IPTABLES_RULES} >&2 || '
                "{ echo 'iptables-restore refused the ruleset' >&2; exit 65; }"
            )
        if writes.get(HAPROXY_CFG):
            lines.append(
                f'haproxy -c -q -f "$STAGE"/{HAPROXY_CFG} >&2 || '
                "{ echo 'haproxy refused its configuration' >&2; exit 65; }"
            )
        if DNSMASQ_CONF in writes:
            lines.append(
                f'dnsmasq --test --conf-file="$STAGE"/{DNSMASQ_CONF} '
                '>/dev/null 2>"$STAGE/.dnsmasq" || { cat "$STAGE/.dnsmasq" >&2; exit 65; }'
            )
        return "\n".join(lines)

    def activate(
        self, old: RouterState | None, new: RouterState, changed: set[str], removed: set[str]
    ) -> str:
        if old is None:
            services = set(COMPONENTS) - {"dnsmasq-reload", "metadata"}
        else:
            services = {c for c in map(component_of, changed | removed) if c is not None}
        if not services:
            return ""
        ordered = [name for name in COMPONENTS if name in services]
        return f'sh "$BASE"/{ACTIVATE_SCRIPT} {" ".join(shlex.quote(n) for n in ordered)}'

    def stop(self) -> str:
        return f'[ -f "$BASE"/{ACTIVATE_SCRIPT} ] && sh "$BASE"/{ACTIVATE_SCRIPT} stop || true'
