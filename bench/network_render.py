"""Benchmark: rendering a virtual router's whole configuration, and what one change costs.

A network with ``--vms`` VMs (default 1,000: DHCP reservations, DNS names, userdata and
metadata files) and ``--rules`` rules (default 5,000: ingress firewall rules over 50
public IPs, egress rules, port forwarding, load balancers with four backends and
stickiness, static NAT), rendered by ``cumulo_vr.render.render_router`` — iptables,
dnsmasq, haproxy, VPN, interfaces, guest files and the state documents. Cases:

- ``full_render``: every file of the router (what ``implement`` pushes);
- ``one_change``: what one ``apply_*`` call computes — ``cumulo_vr.configurator.converge``
  on a router holding the network (an in-memory transport): the state documents
  decoded, one firewall rule added, the files of the changed parts (here the iptables
  ruleset and the firewall document) rendered old and new and compared, the push
  built.

The **baseline** does the irreducible part of the same work in the same run: one
pre-validated f-string per rule and per NIC, joined (no checks, no sorting, no
grouping per chain, no other files). Blocks alternate ours/baseline (ABBA) after a
warm-up; per line ``ms_ours``/``ms_baseline`` (medians), ``ratio_median``/``ratio_iqr``
of the per-block ratios, the bytes and files rendered. A last line compares the
sizes given by ``--scale`` (default: a tenth of the network, then the network):
``growth_exponent`` is ``log(t_big / t_small) / log(n_big / n_small)`` per case — 1.0
is linear; the target is ≤ 1.2 (no superlinear cost). Rendering reads no database:
the statements that build the rule sets are the core's (``cumulo.network``).

    .venv/bin/python bench/network_render.py [--vms 1000] [--rules 5000] [--blocks 9]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import functools
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cumulo_vr.configurator import converge
from cumulo_vr.render import VirtualRouterRenderer, render_router
from cumulo_vr.state import RouterState, state_documents
from cumulo_vr.transport.base import Push, RouterTransport, Snapshot

from cumulo.sdk.network import (
    FirewallRule,
    GuestNic,
    LoadBalancerBackend,
    LoadBalancerRule,
    NetworkRef,
    PortForwardingRule,
    PortRange,
    PublicIp,
    RemoteAccessVpn,
    StaticNatRule,
    StickinessPolicy,
    VpnUser,
)

BASE = "/var/lib/cumulo/vr"
PUBLIC_IPS = 50


def _guest_ip(index: int) -> str:
    return f"10.{1 + index // 62500}.{(index // 250) % 250}.{1 + index % 250}"


def network_state(vms: int, rules: int) -> RouterState:
    """A /8 guest network with ``vms`` NICs and ``rules`` rules of every kind."""
    network = NetworkRef(
        uuid="bench-network",
        name="bench",
        zone_uuid="zone",
        guest_type="Isolated",
        cidr="10.0.0.0/8",
        gateway="10.0.0.1",
        netmask="255.0.0.0",
        network_domain="bench.internal",
        dns=("192.0.2.53",),
    )
    publics = tuple(
        PublicIp(f"203.0.113.{10 + i}", "255.255.255.0", "203.0.113.1", source_nat=i == 0)
        for i in range(PUBLIC_IPS)
    )
    nics = tuple(
        GuestNic(
            vm_uuid=f"vm-{i}",
            instance_name=f"i-2-{i}-VM",
            hostname=f"vm-{i}",
            mac_address=f"06:00:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
            ip_address=_guest_ip(i),
            user_data=base64.b64encode(b"#cloud-config\n").decode(),
            metadata={
                "instance-id": f"i-2-{i}-VM",
                "local-hostname": f"vm-{i}",
                "service-offering": "Small",
                "availability-zone": "zone",
            },
        )
        for i in range(vms)
    )
    # The rule mix: 40% ingress firewall, 10% egress, 36% port forwarding, 12% load
    # balancers, 2% static NAT.
    n_fw, n_eg, n_lb, n_nat = (
        rules * 40 // 100,
        rules * 10 // 100,
        rules * 12 // 100,
        rules * 2 // 100,
    )
    n_pf = rules - n_fw - n_eg - n_lb - n_nat
    nat_ips = {f"203.0.113.{10 + PUBLIC_IPS - 1 - i % 10}" for i in range(n_nat)}
    rule_ips = [ip.address for ip in publics if ip.address not in nat_ips]
    ingress = [
        FirewallRule(
            f"fw-{i}",
            "tcp",
            PortRange(1 + i % 60000, 1 + i % 60000),
            cidrs=(f"198.51.{i % 256}.0/24",),
            public_ip=rule_ips[i % len(rule_ips)],
        )
        for i in range(n_fw)
    ]
    egress = [
        FirewallRule(f"eg-{i}", "udp" if i % 2 else "tcp", PortRange(1 + i, 1 + i))
        for i in range(n_eg)
    ]
    firewall = tuple(ingress + egress)
    forwarding = tuple(
        PortForwardingRule(
            f"pf-{i}",
            rule_ips[i % len(rule_ips)],
            "tcp",
            PortRange(10000 + i // len(rule_ips), 10000 + i // len(rule_ips)),
            _guest_ip(i % max(vms, 1)),
            PortRange(22, 22),
        )
        for i in range(n_pf)
    )

    def backends(first: int) -> tuple[LoadBalancerBackend, ...]:
        vm_indexes = [(first + k) % max(vms, 1) for k in range(4)]
        return tuple(LoadBalancerBackend(f"vm-{v}", _guest_ip(v)) for v in vm_indexes)

    sticky = StickinessPolicy("s", "SourceBased", {"expire": "30m"})
    balancers = tuple(
        LoadBalancerRule(
            f"lb-{i}",
            f"lb{i}",
            rule_ips[i % len(rule_ips)],
            40000 + i // len(rule_ips),
            80,
            ("roundrobin", "leastconn", "source")[i % 3],
            backends=backends(i),
            stickiness=sticky if i % 2 else None,
        )
        for i in range(n_lb)
    )
    static = tuple(
        StaticNatRule(ip, _guest_ip(i % max(vms, 1)), f"vm-{i}")
        for i, ip in enumerate(sorted(nat_ips))
    )
    vpn = RemoteAccessVpn(publics[0].address, "10.255.0.1-10.255.0.200", "10.255.0.1", "psk",
                          tuple(VpnUser(f"user{i}", f"pw{i}") for i in range(100)))  # fmt: skip
    return RouterState(network, None, publics, nics, firewall, forwarding, static, balancers, vpn)


def baseline_render(state: RouterState, *, nics: bool = True) -> str:
    """The irreducible formatting: one line per rule (and per NIC), joined."""
    lines = [
        f"-A FW -s {r.cidrs[0]} -d {r.public_ip} -p {r.protocol} --dport {r.ports.start} -j M"
        for r in state.firewall
    ]
    lines += [
        f"-A PRE -d {r.public_ip} --dport {r.public_ports.start} -j DNAT "
        f"--to {r.guest_ip}:{r.private_ports.start}"
        for r in state.port_forwarding
    ]
    lines += [f"-A PRE -d {r.public_ip} -j DNAT --to {r.guest_ip}" for r in state.static_nat]
    for lb in state.load_balancers:
        lines.append(f"listen {lb.public_ip}:{lb.public_port}\n balance {lb.algorithm}")
        lines += [f" server {b.guest_ip} {b.guest_ip}:{lb.private_port}" for b in lb.backends]
    for nic in state.nics if nics else ():
        lines.append(f"{nic.mac_address},{nic.ip_address},{nic.hostname},infinite")
        lines.append(f"{nic.ip_address} {nic.hostname}.bench.internal {nic.hostname}")
    return "\n".join(lines)


class MemoryTransport(RouterTransport):
    """A router whose committed state is ``documents``; pushes are counted, not kept,
    so every run computes the same change."""

    runs_daemons = True

    def __init__(self, documents: dict[str, bytes]) -> None:
        self.base = BASE
        self.documents = documents
        self.pushed_files = 0

    def read(self) -> Snapshot:
        return Snapshot(generation=1, documents=self.documents)

    def push(self, push: Push) -> None:
        self.pushed_files = len(push.writes)

    def teardown(self, stop: str) -> None:
        raise NotImplementedError


def baseline_twice(state: RouterState) -> tuple[str, str]:
    """The baseline of one change: the rules formatted for the old and the new state."""
    return baseline_render(state, nics=False), baseline_render(state, nics=False)


def one_change(state: RouterState) -> tuple[Callable[[], object], MemoryTransport]:
    """What an apply call computes (``converge`` on a router holding ``state``, minus
    the transport): the documents decoded, one firewall rule added, the files of the
    changed parts rendered old and new and compared, the push and its activation."""
    extra = FirewallRule(
        "fw-new", "tcp", PortRange(65000, 65000), public_ip=state.public_ips[1].address
    )
    transport = MemoryTransport(state_documents(state.canonical()))
    renderer = VirtualRouterRenderer()

    def change(current: RouterState) -> RouterState:
        return dataclasses.replace(current, firewall=(*current.firewall, extra))

    return (lambda: converge(transport, renderer, change)), transport


def _timed(operation: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        operation()
    return (time.perf_counter() - start) / repeat


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return [round(q1, 3), round(q3, 3)]


def measure(
    ours: Callable[[], object], baseline: Callable[[], object], blocks: int
) -> dict[str, Any]:
    ours(), baseline()  # warm-up
    # Repeat the (much cheaper) baseline so both sides of a block last alike.
    repeat = max(1, round(_timed(ours, 1) / max(_timed(baseline, 3), 1e-6)))
    ratios, mine, theirs = [], [], []
    for block in range(blocks):
        order = (ours, baseline) if block % 4 in (0, 3) else (baseline, ours)  # ABBA
        times = {id(op): _timed(op, 1 if op is ours else repeat) for op in order}
        mine.append(times[id(ours)])
        theirs.append(times[id(baseline)])
        ratios.append(times[id(ours)] / times[id(baseline)])
    return {
        "ms_ours": round(statistics.median(mine) * 1000, 2),
        "ms_baseline": round(statistics.median(theirs) * 1000, 3),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_iqr": _quartiles(ratios),
        "blocks": blocks,
    }


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--scale", type=float, default=0.1, help="the small size, as a share")
    args = parser.parse_args()
    small = (max(1, int(args.vms * args.scale)), max(50, int(args.rules * args.scale)))
    sizes = [small, (args.vms, args.rules)]
    results: dict[str, list[dict[str, Any]]] = {"full_render": [], "one_change": []}
    for vms, rules in sizes:
        state = network_state(vms, rules)
        files = render_router(state, BASE)
        change, transport = one_change(state)
        cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "full_render": (
                functools.partial(render_router, state, BASE),
                functools.partial(baseline_render, state),
            ),
            "one_change": (
                change,
                functools.partial(baseline_twice, state),
            ),
        }
        for case, (ours, baseline) in cases.items():
            result = measure(ours, baseline, args.blocks)
            results[case].append({"n": vms + rules, **result})
            line = {
                "bench": "network_render",
                "case": case,
                "vms": vms,
                "rules": rules,
                "files": len(files) if case == "full_render" else transport.pushed_files,
                "bytes": sum(len(d) for d in files.values()) if case == "full_render" else None,
                **result,
                "machine": machine(),
            }
            print(json.dumps(line), flush=True)
    # The baseline is linear by construction, so the ratio's growth is ours beyond
    # linear: exponent = 1 + log(ratio_big / ratio_small) / log(n_big / n_small). It
    # cancels the box's load, which the wall-time exponent does not.
    growth, wall = {}, {}
    for case, (low, high) in results.items():
        scale = math.log(high["n"] / low["n"])
        growth[case] = round(1 + math.log(high["ratio_median"] / low["ratio_median"]) / scale, 3)
        wall[case] = round(math.log(high["ms_ours"] / low["ms_ours"]) / scale, 3)
    summary = {
        "bench": "network_render",
        "case": "growth",
        "sizes": sizes,
        "growth_exponent": growth,
        "growth_exponent_wall": wall,
        "target": 1.2,
        "meets_target": all(g <= 1.2 for g in growth.values()),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
