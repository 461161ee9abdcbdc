"""The ``ssh://`` transport against a real OpenSSH server: a router namespace runs
``sshd`` on its control interface (``eth1``, port 3922, key authentication, as 4.1's
routers), and the provider configures it over SSH exactly as in production."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cumulo_vr.provider import VirtualRouter
from cumulo_vr.state import state_from_documents
from cumulo_vr.transport import transport_for
from vr_testbed import NamespaceContext, NetnsBed, in_ci, require_netns

from cumulo.sdk.network import (
    FirewallRule,
    GuestNic,
    NetworkRef,
    PortRange,
    ProviderUnreachable,
    PublicIp,
    RouterRef,
)

NETWORK = NetworkRef(
    uuid="55a0c0de-0000-4000-8000-000000000003",
    name="ssh-net",
    zone_uuid="zone-1",
    guest_type="Isolated",
    cidr="10.3.0.0/24",
    gateway="10.3.0.1",
    netmask="255.255.255.0",
    network_domain="ssh.internal",
)
PUBLIC = (PublicIp("203.0.113.30", "255.255.255.0", "203.0.113.1", source_nat=True),)
GUEST = GuestNic("vm-s1", "i-2-31-VM", "ssh-guest", "02:00:0c:00:00:01", "10.3.0.31")


@dataclass
class SshRouter:
    bed: NetnsBed
    router_ns: str
    guest_ns: str
    uri: str
    control_ip: str


def _require_ssh() -> None:
    missing = [tool for tool in ("sshd", "ssh", "ssh-keygen") if shutil.which(tool) is None]
    if missing:
        if in_ci():
            pytest.fail(f"the SSH transport test must run in CI: missing {', '.join(missing)}")
        pytest.skip(f"OpenSSH is not installed ({', '.join(missing)})")


@pytest.fixture(scope="module")
def ssh_router() -> Iterator[SshRouter]:
    require_netns()
    _require_ssh()
    bed = NetnsBed()
    host_if = f"{bed.tag}c"[:15]
    octet = 200 + os.getpid() % 50
    mine, theirs = f"169.254.{octet}.1", f"169.254.{octet}.2"
    try:
        router_ns, guest_ns = bed.namespace("r"), bed.namespace("g")
        bed.veth(router_ns, "eth0", guest_ns, "eth0", mac=None)
        bed.run(guest_ns, "ip", "link", "set", "eth0", "address", GUEST.mac_address)
        # The control link: this (management) side in the host's namespace.
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "name",
                host_if,
                "type",
                "veth",
                "peer",
                "name",
                "eth1",
                "netns",
                router_ns,
            ],
            check=True,
        )
        subprocess.run(["ip", "addr", "add", f"{mine}/30", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        bed.address(router_ns, "eth1", f"{theirs}/30")
        bed.run(router_ns, "ip", "link", "set", "eth1", "up")

        work = bed.work
        for name in ("host_key", "id_ed25519"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True
            )
        (work / "authorized_keys").write_text((work / "id_ed25519.pub").read_text())
        (work / "sshd_config").write_text(
            f"Port 3922\nListenAddress {theirs}\nHostKey {work / 'host_key'}\n"
            f"AuthorizedKeysFile {work / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            f"StrictModes no\nPidFile {work / 'sshd.pid'}\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        bed.spawn(
            router_ns, ["/usr/sbin/sshd", "-D", "-e", "-f", str(work / "sshd_config")], "sshd.log"
        )
        uri = f"ssh://root@{theirs}:3922?identity={work / 'id_ed25519'}&dir={work / 'router'}"
        probe = transport_for(uri, "probe")
        bed.wait_for(lambda: _answers(probe), "sshd on the router's control address")
        yield SshRouter(bed, router_ns, guest_ns, uri, theirs)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        bed.close()


def _answers(transport: object) -> bool:
    try:
        transport.read()  # type: ignore[attr-defined]
    except ProviderUnreachable:
        return False
    return True


def _context(router: SshRouter) -> NamespaceContext:
    return NamespaceContext(
        RouterRef(
            "router-s", "r-9-VM", NETWORK.gateway, PUBLIC[0].address, router.control_ip, router.uri
        )
    )


def test_the_router_is_configured_over_ssh(ssh_router: SshRouter) -> None:
    ctx, provider = _context(ssh_router), VirtualRouter()
    provider.implement(ctx, NETWORK, PUBLIC)
    provider.prepare(ctx, NETWORK, GUEST)
    # The router answers DHCP as configured over SSH ...
    assert ssh_router.bed.dhcp(ssh_router.guest_ns).startswith(
        "lease ip=10.3.0.31 mask=24 router=10.3.0.1"
    )
    saved = ssh_router.bed.run(ssh_router.router_ns, "iptables-save", "-t", "nat").stdout
    assert "-A POSTROUTING -s 10.3.0.0/24 -o eth2 -j SNAT --to-source 203.0.113.30" in saved
    # ... and its own ruleset (INPUT DROP) still lets the management server in on eth1.
    base = Path(ssh_router.uri.split("dir=", 1)[1]) / "vr"
    generation = (base / "generation").read_text()
    provider.prepare(ctx, NETWORK, GUEST)
    assert (base / "generation").read_text() == generation  # nothing to change: no push
    provider.apply_firewall_rules(
        ctx, NETWORK, (FirewallRule("fw", "tcp", PortRange(22, 22), public_ip="203.0.113.30"),)
    )
    assert int((base / "generation").read_text()) == int(generation) + 1


def test_concurrent_calls_over_ssh_all_land(ssh_router: SshRouter) -> None:
    """Several workers pushing at once: the router's lock and generation check keep
    every set (the losers read again)."""
    ctx, provider = _context(ssh_router), VirtualRouter()
    provider.implement(ctx, NETWORK, PUBLIC)
    rules = tuple(
        FirewallRule(f"fw-{i}", "tcp", PortRange(100 + i, 100 + i), public_ip="203.0.113.30")
        for i in range(3)
    )
    guests = [
        GuestNic(
            f"vm-c{i}", f"i-2-{40 + i}-VM", f"c{i}", f"02:00:0c:00:01:{i:02x}", f"10.3.0.{40 + i}"
        )
        for i in range(4)
    ]
    errors: list[BaseException] = []

    def call(function: Callable[[], None]) -> None:
        try:
            function()
        except BaseException as exc:
            errors.append(exc)

    work: list[Callable[[], None]] = [
        functools.partial(provider.prepare, ctx, NETWORK, g) for g in guests
    ]
    work.append(functools.partial(provider.apply_firewall_rules, ctx, NETWORK, rules))
    threads = [threading.Thread(target=call, args=(w,)) for w in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    snapshot = transport_for(ssh_router.uri, "vr").read()
    state = state_from_documents(snapshot.documents)
    assert {g.ip_address for g in guests} <= {n.ip_address for n in state.nics}
    assert {r.uuid for r in state.firewall} == {r.uuid for r in rules}
    assert not snapshot.dirty


def test_a_router_that_does_not_answer_is_unreachable(ssh_router: SshRouter) -> None:
    # The management side of the control link: nothing listens there, the connection
    # is refused at once (the router itself drops anything but 3922 on eth1: a timeout).
    closed = ssh_router.uri.replace(ssh_router.control_ip, ssh_router.control_ip[:-1] + "1")
    ctx = NamespaceContext(RouterRef("router-x", "r-10-VM", NETWORK.gateway, access_uri=closed))
    with pytest.raises(ProviderUnreachable, match="ssh"):
        VirtualRouter().apply_static_nat(ctx, NETWORK, ())
