"""The providers through the ``file://`` transport (routers on simulated hosts): the
files written, idempotence, whole sets, one-shot passwords, concurrent calls, and
how access URIs choose transports."""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cumulo_vr.provider import VirtualRouter
from cumulo_vr.state import state_from_documents
from cumulo_vr.transport import FileTransport, ShellTransport, transport_for
from cumulo_vr.transport.netns import NetnsRunner
from cumulo_vr.transport.ssh import SshRunner
from vr_samples import EXTRA, NETWORK, SNAT, full_state, nic

from cumulo.sdk.network import (
    FirewallRule,
    NetworkContext,
    NetworkRef,
    PortRange,
    ProviderRefused,
    ProviderUnreachable,
    RouterRef,
)


class FileContext(NetworkContext):
    """A router on a simulated host: its files in a directory."""

    def __init__(self, root: Path) -> None:
        self.router: RouterRef | None = None
        self.root = root
        self.deployed = 0

    def ensure_router(self, network: NetworkRef) -> RouterRef:
        if self.router is None:
            self.deployed += 1
            self.router = RouterRef(
                "router-1",
                "r-4-VM",
                network.gateway,
                SNAT.address,
                access_uri=f"file://{self.root}",
            )
        return self.router

    def find_router(self, network: NetworkRef) -> RouterRef | None:
        return self.router

    def destroy_router(self, network: NetworkRef) -> None:
        self.router = None


@pytest.fixture
def ctx(tmp_path: Path) -> FileContext:
    return FileContext(tmp_path / "routers" / "r-4-VM")


def _files(ctx: FileContext) -> dict[str, bytes]:
    base = ctx.root / "vr"
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.name not in ("generation", ".lock")
    }


def _generation(ctx: FileContext) -> int:
    return int((ctx.root / "vr" / "generation").read_text())


def _implement_everything(ctx: FileContext) -> VirtualRouter:
    state = full_state()
    provider = VirtualRouter()
    provider.implement(ctx, NETWORK, state.public_ips)
    for guest in state.nics:
        provider.prepare(ctx, NETWORK, guest)
    provider.apply_firewall_rules(ctx, NETWORK, state.firewall)
    provider.apply_port_forwarding(ctx, NETWORK, state.port_forwarding)
    provider.apply_static_nat(ctx, NETWORK, state.static_nat)
    provider.apply_load_balancers(ctx, NETWORK, state.load_balancers)
    provider.apply_vpn(ctx, NETWORK, state.vpn)
    return provider


def test_a_simulated_router_gets_its_rendered_files_and_no_daemon(ctx: FileContext) -> None:
    _implement_everything(ctx)
    files = _files(ctx)
    assert b"--to-source 203.0.113.5" in files["iptables.rules"]
    assert b"02:00:00:00:00:01,10.1.1.11,web-1,infinite" in files["dnsmasq/dhcp-hosts"]
    assert b"balance leastconn" in files["haproxy/haproxy.cfg"]
    assert files["www/10.1.1.11/user-data"] == b"#!/bin/sh\necho hi\n"
    assert not (ctx.root / "vr" / "run").exists()  # nothing was started
    assert ctx.deployed == 1
    # Secrets on disk are readable by their owner only.
    assert (ctx.root / "vr" / "vpn" / "ipsec.secrets").stat().st_mode & 0o077 == 0


def test_applying_the_same_set_again_writes_nothing(ctx: FileContext) -> None:
    provider = _implement_everything(ctx)
    generation, files = _generation(ctx), _files(ctx)
    state = full_state()
    provider.apply_firewall_rules(ctx, NETWORK, tuple(reversed(state.firewall)))
    provider.prepare(ctx, NETWORK, state.nics[0])
    provider.apply_vpn(ctx, NETWORK, state.vpn)
    assert _generation(ctx) == generation
    assert _files(ctx) == files


def test_each_apply_replaces_the_whole_set_of_its_kind_only(ctx: FileContext) -> None:
    provider = _implement_everything(ctx)
    provider.apply_firewall_rules(ctx, NETWORK, ())
    state = state_from_documents({k: v for k, v in _files(ctx).items() if k.startswith("state/")})
    assert state.firewall == ()
    assert len(state.port_forwarding) == 2 and len(state.nics) == 3  # untouched
    assert b"FW_203_0_113_5" not in _files(ctx)["iptables.rules"]


def test_a_password_is_written_once_and_never_kept(ctx: FileContext) -> None:
    provider = VirtualRouter()
    provider.implement(ctx, NETWORK, (SNAT,))
    guest = dataclasses.replace(nic(1), password="Secret-1")
    provider.prepare(ctx, NETWORK, guest)
    assert _files(ctx)["passwords/10.1.1.11"] == b"Secret-1"
    assert all(
        b"Secret-1" not in data
        for path, data in _files(ctx).items()
        if not path.startswith("passwords/")
    )
    provider.release(ctx, NETWORK, guest)
    files = _files(ctx)
    assert "passwords/10.1.1.11" not in files and "www/10.1.1.11/user-data" not in files
    assert b"10.1.1.11" not in files["dnsmasq/names"]


def test_concurrent_calls_from_many_workers_all_land(ctx: FileContext) -> None:
    """Job workers applying different kinds at once never lose each other's sets (the
    generation check makes the loser read again)."""
    provider = VirtualRouter()
    provider.implement(ctx, NETWORK, (SNAT, EXTRA))
    guests = [nic(i) for i in range(1, 9)]
    rules = tuple(
        FirewallRule(f"fw-{i}", "tcp", PortRange(1000 + i, 1000 + i), public_ip=SNAT.address)
        for i in range(8)
    )
    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    calls: list[Callable[[], None]] = [
        functools.partial(provider.prepare, ctx, NETWORK, g) for g in guests
    ]
    calls.append(functools.partial(provider.apply_firewall_rules, ctx, NETWORK, rules))
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    state = state_from_documents({k: v for k, v in _files(ctx).items() if k.startswith("state/")})
    assert {g.ip_address for g in state.nics} == {g.ip_address for g in guests}
    assert {r.uuid for r in state.firewall} == {r.uuid for r in rules}
    assert _files(ctx)["dnsmasq/dhcp-hosts"].count(b"\n") == 8


def test_destroy_removes_the_router_and_is_idempotent(ctx: FileContext) -> None:
    provider = _implement_everything(ctx)
    provider.destroy(ctx, NETWORK)
    provider.destroy(ctx, NETWORK)
    provider.shutdown(ctx, NETWORK)
    assert not (ctx.root / "vr").exists()
    assert ctx.router is None
    provider.release(ctx, NETWORK, nic(1))  # no router: nothing to do


def test_a_bad_rule_is_refused_and_nothing_is_written(ctx: FileContext) -> None:
    provider = _implement_everything(ctx)
    generation = _generation(ctx)
    with pytest.raises(ProviderRefused, match="invalid CIDR"):
        provider.apply_firewall_rules(
            ctx,
            NETWORK,
            (FirewallRule("x", "tcp", PortRange(1, 1), cidrs=("nope",), public_ip=SNAT.address),),
        )
    assert _generation(ctx) == generation


def test_a_router_directory_that_cannot_be_used_is_unreachable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    context = FileContext(blocker / "router")
    with pytest.raises(ProviderUnreachable, match="cannot read"):
        VirtualRouter().implement(context, NETWORK, (SNAT,))


def test_unexpected_failures_become_provider_errors(ctx: FileContext) -> None:
    class Broken(FileContext):
        def ensure_router(self, network: NetworkRef) -> RouterRef:
            raise RuntimeError("hypervisor exploded")

    with pytest.raises(ProviderRefused, match="RuntimeError: hypervisor exploded"):
        VirtualRouter().apply_static_nat(Broken(ctx.root), NETWORK, ())


# ---- access URIs ------------------------------------------------------------------------


def test_access_uris_choose_the_transport() -> None:
    file = transport_for("file:///srv/sim/routers/r-4-VM", "vr")
    assert isinstance(file, FileTransport) and file.base == "/srv/sim/routers/r-4-VM/vr"
    assert not file.runs_daemons

    netns = transport_for("netns://cst-vr-1?dir=/tmp/x", "sg")
    assert isinstance(netns, ShellTransport) and netns.base == "/tmp/x/sg"
    assert isinstance(netns.runner, NetnsRunner) and netns.runner.namespace == "cst-vr-1"
    assert transport_for("netns://cst-vr-1", "vr").base == "/run/cumulo-vr/cst-vr-1/vr"

    ssh = transport_for("ssh://169.254.3.4:3922", "vr")
    assert isinstance(ssh, ShellTransport) and ssh.base == "/var/lib/cumulo/vr"
    assert ssh.env == {"CUMULO_VR_OWNS_ETC": "1"}
    runner = ssh.runner
    assert isinstance(runner, SshRunner)
    assert (runner.host, runner.port, runner.user) == ("169.254.3.4", 3922, "root")


def test_the_ssh_command_is_4_1_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUMULO_VR_SSH_KEY", "/etc/cumulo/id_rsa.cloud")
    runner = transport_for("ssh://169.254.3.4", "vr").runner  # type: ignore[attr-defined]
    argv = runner.argv("true")
    assert argv[:3] == ["ssh", "-p", "3922"]
    assert "StrictHostKeyChecking=no" in argv and "BatchMode=yes" in argv
    assert argv[argv.index("-i") + 1] == "/etc/cumulo/id_rsa.cloud"
    assert argv[-2:] == ["root@169.254.3.4", "true"]
    other = transport_for("ssh://admin@10.0.0.9:22?identity=/k", "vr").runner  # type: ignore[attr-defined]
    assert other.argv("x")[:3] == ["ssh", "-p", "22"] and "admin@10.0.0.9" in other.argv("x")
    assert other.argv("x")[other.argv("x").index("-i") + 1] == "/k"


@pytest.mark.parametrize("uri", ["", "http://router", "file://relative", "ssh:///nohost"])
def test_unusable_access_uris_are_refused(uri: str) -> None:
    with pytest.raises(ProviderRefused):
        transport_for(uri, "vr")


def test_a_missing_namespace_is_unreachable() -> None:
    router = transport_for("netns://no-such-namespace-n6d", "vr")
    with pytest.raises(ProviderUnreachable, match="does not exist"):
        router.read()
