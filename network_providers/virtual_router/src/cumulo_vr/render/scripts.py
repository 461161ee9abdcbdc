"""The router's shell: its interface addresses and the activation of each service.

``interfaces.sh`` is rendered from the state (the router's guest address on ``eth0`` —
the gateway of an isolated network —, the public
addresses on ``eth2`` and nothing else there, the default route through the source-NAT
address's gateway, forwarding on). ``bin/vr-activate.sh`` knows how to (re)start or
reload each service from its rendered files; a push calls it with the services whose
files changed, and it always acts in the same order (addresses before the daemons that
bind them).
"""

from __future__ import annotations

import ipaddress
import shlex

from cumulo_vr.layout import (
    CHAP_SECRETS,
    DNSMASQ_CONF,
    GUEST_DATA_DIR,
    GUEST_IF,
    HAPROXY_CFG,
    INTERFACES_SCRIPT,
    IPSEC_CONF,
    IPSEC_SECRETS,
    IPTABLES_RULES,
    METADATA_SERVER,
    PASSWORDS_DIR,
    PUBLIC_IF,
    RUN_DIR,
    XL2TPD_CONF,
)
from cumulo_vr.render.checks import check_ip, prefix_length
from cumulo_vr.state import RouterState

# The services of vr-activate.sh, in the order it handles them.
COMPONENTS = (
    "interfaces",
    "iptables",
    "dnsmasq",
    "dnsmasq-reload",
    "haproxy",
    "metadata",
    "metadata-restart",
    "vpn",
    "vpn-users",
)


def render_interfaces(state: RouterState) -> str:
    lines = [
        "#!/bin/sh",
        "# cumulo virtual router: interface addresses, rendered from the network's state",
        "set -eu",
        "echo 1 >/proc/sys/net/ipv4/ip_forward",
    ]
    network = state.network
    if network is not None:
        length = prefix_length(network.netmask)
        lines += [
            f"if ip link show {GUEST_IF} >/dev/null 2>&1; then",
            f"    ip link set {GUEST_IF} up",
            f"    ip addr replace {check_ip(state.router_address)}/{length} dev {GUEST_IF}",
            "fi",
        ]
    wanted = []
    for public in state.public_ips:
        wanted.append(f"{check_ip(public.address)}/{prefix_length(public.netmask)}")
    keep = "|".join(wanted) or "__none__"
    lines += [
        f"if ip link show {PUBLIC_IF} >/dev/null 2>&1; then",
        f"    ip link set {PUBLIC_IF} up",
        # Removing a subnet's primary address must not take its secondaries with it.
        f"    echo 1 >/proc/sys/net/ipv4/conf/{PUBLIC_IF}/promote_secondaries",
        # Addresses released from the network leave the router (4.1's ipassoc.sh -D).
        f"    for a in $(ip -4 -o addr show dev {PUBLIC_IF} | awk '{{print $4}}'); do",
        f'        case "$a" in {keep}) ;; *) ip addr del "$a" dev {PUBLIC_IF} || true ;; esac',
        "    done",
    ]
    lines += [f"    ip addr replace {address} dev {PUBLIC_IF}" for address in wanted]
    snat = state.source_nat_ip
    if snat is not None and snat.gateway:
        gateway = check_ip(snat.gateway)
        subnet = ipaddress.IPv4Network(f"{snat.address}/{prefix_length(snat.netmask)}", False)
        if ipaddress.IPv4Address(gateway) in subnet:
            lines.append(f"    ip route replace default via {gateway} dev {PUBLIC_IF}")
    lines.append("fi")
    return "\n".join(lines) + "\n"


_ACTIVATE = r"""#!/bin/sh
# cumulo virtual router: put the rendered configuration to work.
# Usage: vr-activate.sh SERVICE...   (interfaces iptables dnsmasq dnsmasq-reload haproxy
#        metadata metadata-restart vpn vpn-users stop); services run in that order.
set -eu
BASE=@BASE@
RUN="$BASE/@RUN@"
GATEWAY=@GATEWAY@
OWNS_ETC="${CUMULO_VR_OWNS_ETC:-0}"
mkdir -p "$RUN"

fail() { echo "$*" >&2; exit 1; }
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
# running PIDFILE WORD: the pid in PIDFILE if that process runs with WORD in its command
# line (never signal a process that merely reused the pid).
running() {
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
    echo "$pid"
}
stop() {
    if pid=$(running "$1" "$2"); then
        kill "$pid" 2>/dev/null || true
        i=0
        while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$1"
}
tail_of() { [ -f "$1" ] && tail -n 5 "$1" | tr '\n' ' '; }

DNSMASQ_CONF="$BASE/@DNSMASQ_CONF@"
HAPROXY_CFG="$BASE/@HAPROXY_CFG@"
METADATA="$BASE/@METADATA@"

dnsmasq_start() {
    dnsmasq --conf-file="$DNSMASQ_CONF" 9>&- </dev/null >"$RUN/dnsmasq.out" 2>&1 ||
        fail "dnsmasq did not start: $(tail_of "$RUN/dnsmasq.out")"
}
metadata_start() {
    [ -n "$GATEWAY" ] || return 0
    rm -f "$RUN/metadata.pid"
    setsid python3 "$METADATA" --root "$BASE" --bind "$GATEWAY" --pidfile "$RUN/metadata.pid" \
        9>&- </dev/null >>"$RUN/metadata.log" 2>&1 &
    i=0
    while [ ! -s "$RUN/metadata.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -s "$RUN/metadata.pid" ] ||
        fail "the metadata server did not start: $(tail_of "$RUN/metadata.log")"
}
vpn_stop() {
    stop "$RUN/xl2tpd.pid" "$BASE/@XL2TPD_CONF@"
    if [ "$OWNS_ETC" = 1 ] && command -v ipsec >/dev/null 2>&1; then
        ipsec stop >/dev/null 2>&1 || true
    fi
}
vpn_start() {
    if [ "$OWNS_ETC" != 1 ]; then
        # A network-namespace router shares /etc (strongSwan's and pppd's files) and /run
        # with its host: its VPN is rendered, not run.
        echo "note: remote-access VPN rendered but not started (router without its own /etc)" >&2
        return 0
    fi
    command -v ipsec >/dev/null 2>&1 && command -v xl2tpd >/dev/null 2>&1 ||
        fail "the remote-access VPN needs strongSwan (ipsec) and xl2tpd on the router"
    mkdir -p /etc/ppp
    ln -sf "$BASE/@IPSEC_CONF@" /etc/ipsec.conf
    ln -sf "$BASE/@IPSEC_SECRETS@" /etc/ipsec.secrets
    ln -sf "$BASE/@CHAP_SECRETS@" /etc/ppp/chap-secrets
    if ipsec status >/dev/null 2>&1; then
        ipsec reload >/dev/null && ipsec rereadsecrets >/dev/null
    else
        ipsec start 9>&- </dev/null >/dev/null 2>&1 || fail "strongSwan did not start"
    fi
    stop "$RUN/xl2tpd.pid" "$BASE/@XL2TPD_CONF@"
    xl2tpd -c "$BASE/@XL2TPD_CONF@" -p "$RUN/xl2tpd.pid" 9>&- </dev/null >/dev/null 2>&1 ||
        fail "xl2tpd did not start"
}

want() { for w in "$@"; do case " $SERVICES " in *" $w "*) return 0 ;; esac; done; return 1; }
SERVICES=" $* "

if want stop; then
    stop "$RUN/haproxy.pid" "$HAPROXY_CFG"
    stop "$RUN/dnsmasq.pid" "$DNSMASQ_CONF"
    stop "$RUN/metadata.pid" "$METADATA"
    vpn_stop
    exit 0
fi
if want interfaces; then sh "$BASE/@INTERFACES@"; fi
if want iptables; then
    iptables-restore -w <"$BASE/@IPTABLES@" || fail "iptables-restore refused the ruleset"
fi
if want dnsmasq; then
    stop "$RUN/dnsmasq.pid" "$DNSMASQ_CONF"
    dnsmasq_start
elif want dnsmasq-reload; then
    # The reservations and names are files dnsmasq re-reads on SIGHUP.
    if pid=$(running "$RUN/dnsmasq.pid" "$DNSMASQ_CONF"); then
        kill -HUP "$pid"
    else
        dnsmasq_start
    fi
fi
if want haproxy; then
    if [ -s "$HAPROXY_CFG" ]; then
        if pid=$(running "$RUN/haproxy.pid" "$HAPROXY_CFG"); then
            # -sf: the new process takes the ports, the old one finishes its connections.
            haproxy -D -f "$HAPROXY_CFG" -p "$RUN/haproxy.pid" -sf "$pid" 9>&- </dev/null \
                >"$RUN/haproxy.out" 2>&1 ||
                fail "haproxy did not reload: $(tail_of "$RUN/haproxy.out")"
        else
            haproxy -D -f "$HAPROXY_CFG" -p "$RUN/haproxy.pid" 9>&- </dev/null \
                >"$RUN/haproxy.out" 2>&1 ||
                fail "haproxy did not start: $(tail_of "$RUN/haproxy.out")"
        fi
    else
        stop "$RUN/haproxy.pid" "$HAPROXY_CFG"
    fi
fi
if want metadata-restart; then
    stop "$RUN/metadata.pid" "$METADATA"
    metadata_start
elif want metadata; then
    running "$RUN/metadata.pid" "$METADATA" >/dev/null || metadata_start
fi
if want vpn; then
    if [ -s "$BASE/@IPSEC_CONF@" ]; then vpn_start; else vpn_stop; fi
fi
# vpn-users: pppd reads chap-secrets at each login; the file in place is enough.
exit 0
"""


def render_activate(state: RouterState, base: str) -> str:
    """``bin/vr-activate.sh`` for the router's directory ``base``."""
    gateway = check_ip(state.router_address) if state.network is not None else ""
    values = {
        "@BASE@": shlex.quote(base),
        "@RUN@": RUN_DIR,
        "@GATEWAY@": shlex.quote(gateway),
        "@DNSMASQ_CONF@": DNSMASQ_CONF,
        "@HAPROXY_CFG@": HAPROXY_CFG,
        "@METADATA@": METADATA_SERVER,
        "@XL2TPD_CONF@": XL2TPD_CONF,
        "@IPSEC_CONF@": IPSEC_CONF,
        "@IPSEC_SECRETS@": IPSEC_SECRETS,
        "@CHAP_SECRETS@": CHAP_SECRETS,
        "@INTERFACES@": INTERFACES_SCRIPT,
        "@IPTABLES@": IPTABLES_RULES,
    }
    text = _ACTIVATE
    for marker, value in values.items():
        text = text.replace(marker, value)
    return text


def component_of(path: str) -> str | None:
    """The service a rendered file feeds (``None``: the file is state only)."""
    exact = {
        INTERFACES_SCRIPT: "interfaces",
        IPTABLES_RULES: "iptables",
        DNSMASQ_CONF: "dnsmasq",
        HAPROXY_CFG: "haproxy",
        METADATA_SERVER: "metadata-restart",
        CHAP_SECRETS: "vpn-users",
    }
    if path in exact:
        return exact[path]
    if path.startswith("dnsmasq/"):
        return "dnsmasq-reload"
    if path.startswith("vpn/"):
        return "vpn"
    if path.startswith((f"{GUEST_DATA_DIR}/", f"{PASSWORDS_DIR}/")):
        return "metadata"
    if path.startswith("bin/"):
        # The activation script holds the address the metadata server binds.
        return "metadata-restart"
    return None
