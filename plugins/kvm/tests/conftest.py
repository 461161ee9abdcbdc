"""Fixtures of the KVM plugin's tests: the real libvirt peers (:mod:`kvm_testbed`).

Tests that need a real libvirtd with QEMU take :func:`libvirt_host`; without one they
are skipped, saying how to get one (``../shared/tools/libvirt install`` and
``start-daemon``) — except under CI (``CI`` set), where a missing peer is a failure:
CI installs and starts it, so a skip there would hide a broken set-up.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kvm_testbed import (
    PRIMARY_URI,
    SASL_LOGIN,
    PeerDaemon,
    boot_disk,
    libvirt_tool,
    missing_boot_tools,
    tiny_guest,
)

HOW = (
    "needs a real libvirtd with QEMU at qemu:///system: run ../shared/tools/libvirt install"
    " && ../shared/tools/libvirt start-daemon (CI does)"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} ({HOW})")
    pytest.skip(f"{reason} ({HOW})")


@pytest.fixture(scope="session")
def libvirt_host() -> str:
    """The URI of the first libvirtd (skip, or fail under CI, when none answers)."""
    libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
    if os.geteuid() != 0:
        _unavailable("the KVM tests drive libvirtd as root")
    try:
        libvirt.open(PRIMARY_URI).close()
    except libvirt.libvirtError as exc:
        _unavailable(f"no libvirtd answers at {PRIMARY_URI}: {exc.get_error_message()}")
    return PRIMARY_URI


@pytest.fixture(scope="session")
def peer_daemon(
    libvirt_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PeerDaemon]:
    """A second libvirtd, started for this session (a second host); one per xdist
    worker, each with its own migration ports."""
    if shutil.which("unshare") is None:
        _unavailable("unshare (util-linux) is needed for the second libvirtd")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    daemon = PeerDaemon(tmp_path_factory.mktemp("libvirtd-peer"), port_base=49300 + 64 * index)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def peer_host(peer_daemon: PeerDaemon) -> str:
    """The URI of the second libvirtd."""
    return peer_daemon.uri


@pytest.fixture(scope="session")
def guest_image(libvirt_host: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bootable qcow2 image of the tool's tiny guest (see :func:`kvm_testbed.boot_disk`)."""
    if libvirt_tool() is None:
        _unavailable("../shared/tools/libvirt (or $CUMULO_LIBVIRT_TOOL) is missing")
    missing = missing_boot_tools()
    if missing:
        _unavailable(f"{', '.join(missing)} missing: apt-get install syslinux mtools dosfstools")
    cache = Path(os.environ.get("CUMULO_KVM_IMAGE_CACHE") or tmp_path_factory.mktemp("tiny-guest"))
    guest = tiny_guest(cache / "tiny")
    return boot_disk(guest, cache / "tiny-guest.qcow2")


@pytest.fixture(scope="session")
def sasl_daemon(
    libvirt_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PeerDaemon]:
    """A libvirtd that asks for a login (SASL SCRAM-SHA-256): user and password are
    :data:`SASL_LOGIN`."""
    if shutil.which("saslpasswd2") is None:
        _unavailable("saslpasswd2 is missing: apt-get install sasl2-bin")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    daemon = PeerDaemon(
        tmp_path_factory.mktemp("libvirtd-sasl"), port_base=50100 + 64 * index, login=SASL_LOGIN
    )
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
