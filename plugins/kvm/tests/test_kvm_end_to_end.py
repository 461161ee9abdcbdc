"""Issue 7's Must show, end to end: a real ``cumulo serve`` over HTTP (SQLite or
MariaDB as ``CUMULO_TEST_DB`` says) drives real libvirtds running QEMU guests.

A basic zone is built through the API as an operator would: physical network, pod,
guest range, a ``KVM`` cluster of two hosts — two libvirtds of this module's own beside
the test bed's (:class:`kvm_testbed.PeerDaemon`, in its network namespace), added with
the local transport's URL ``qemu+unix://<address>/system`` — a ``SharedMountPoint``
primary storage, and ``file://`` secondary storage holding a KVM system VM template
(REQ-SS-05, installed with ``cumulo install-systemvm-template``). A template — the
tool's tiny guest made a bootable disk — is registered from a local HTTP server and
downloaded by the server's job worker; the VM is deployed from it and boots (its serial
console is logged on the host), a data volume is attached and detached, the VM is
stopped, started, rebooted and destroyed. Killing a host's libvirtd moves the host to
Alert and Down; starting it again brings it back Up. The hosts'
``kvm.domain.type=qemu``: no usable KVM acceleration here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from kvm_testbed import (  # noqa: E402
    GUEST_BOOTED,
    GUEST_READY,
    PeerDaemon,
    ensure_bridges,
    primary_netns,
    wait_for_text,
)

from cumulo.templates.testing import TemplateServer  # noqa: E402
from cumulo.testing.deployment import deploy_database, register_admin_keys  # noqa: E402
from cumulo_api.testing_server import COMPACT_ARGS, ServeProcess, cumulo_executable  # noqa: E402

MANAGEMENT_KEY = "kvm-e2e-management-key"
DATABASE_KEY = "kvm-e2e-database-key"
SETTINGS = {"secstorage.allowed.internal.sites": "127.0.0.0/8"}  # the template server
FAST_PING = {"ping.interval": "1", "ping.timeout": "2"}
JOB_DEADLINE = 300.0
BOOT_DEADLINE = 240.0
STATE_DEADLINE = 120.0
QEMU = "kvm.domain.type=qemu"


class Server:
    """The running server, signed as the admin; a failing call fails the test."""

    def __init__(self, serve: ServeProcess) -> None:
        self.serve = serve

    def __call__(self, command: str, **params: Any) -> dict[str, Any]:
        status, envelope = self.serve.call(command, **params)
        if status != 200:
            pytest.fail(f"{command}: {status} {envelope!r}\n{self.serve.tail()}")
        if "jobid" in envelope and command != "queryAsyncJobResult":
            return self._job(str(envelope["jobid"]), command)
        return envelope

    def poll(self, command: str, **params: Any) -> dict[str, Any] | None:
        """A read-only call of a polling loop: ``None`` when the server did not answer
        in time (a loaded machine), so the loop asks again."""
        try:
            return self(command, **params)
        except OSError:
            return None

    def _job(self, job: str, command: str) -> dict[str, Any]:
        deadline = time.monotonic() + JOB_DEADLINE
        while time.monotonic() < deadline:
            answer = self.poll("queryAsyncJobResult", jobid=job)
            if answer is None:
                continue
            if answer["jobstatus"] == 1:
                return dict(answer.get("jobresult") or {})
            if answer["jobstatus"] == 2:
                pytest.fail(f"{command} failed: {answer['jobresult']}\n{self.serve.tail()}")
            time.sleep(0.5)
        pytest.fail(f"{command}: job {job} never finished\n{self.serve.tail()}")

    def host_state(self, host_id: str) -> str:
        (host,) = self("listHosts", id=host_id)["host"]
        return str(host["state"])

    def wait_for_host(self, host_id: str, states: tuple[str, ...]) -> str:
        deadline = time.monotonic() + STATE_DEADLINE
        while time.monotonic() < deadline:
            listed = self.poll("listHosts", id=host_id)
            if listed is not None and listed["host"][0]["state"] in states:
                return str(listed["host"][0]["state"])
            time.sleep(0.5)
        pytest.fail(f"host {host_id} never reached {states}: {self.host_state(host_id)}")


@pytest.fixture
def bridges(libvirt_host: str) -> None:
    """``cloudbr0`` and ``cloudbr1`` in the test bed's network namespace (the default
    bridges of public and guest traffic), left there for whoever runs next: another
    test may have a guest on them."""
    if primary_netns() is None:
        pytest.skip("the test bed's libvirtd runs in no network namespace of its own")
    ensure_bridges(("cloudbr0", "cloudbr1"))


@pytest.fixture(scope="module")
def kvm_hosts(
    libvirt_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PeerDaemon, PeerDaemon]]:
    """Two libvirtds of this module's own: ``addHost`` refuses a host running VMs
    (REQ-CL-04), and other tests run VMs on the shared ones meanwhile."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    daemons = (
        PeerDaemon(tmp_path_factory.mktemp("e2e-host-a"), port_base=49800 + 128 * index),
        PeerDaemon(tmp_path_factory.mktemp("e2e-host-b"), port_base=49864 + 128 * index),
    )
    try:
        for daemon in daemons:
            daemon.start()
        yield daemons
    finally:
        for daemon in daemons:
            daemon.stop()


@contextlib.contextmanager
def _serve(database_url: str, tmp_path: Path, settings: dict[str, str]) -> Iterator[Server]:
    conf = tmp_path / "conf"
    # Instance names of their own: a domain an earlier run left on a host is never
    # taken for one of this server's VMs.
    settings = {**settings, "instance.name": f"E2E{uuid.uuid4().hex[:6]}"}
    deploy_database(
        database_url,
        conf,
        management_key=MANAGEMENT_KEY,
        database_key=DATABASE_KEY,
        settings=settings,
    )
    keys = register_admin_keys(database_url, DATABASE_KEY)
    env = {"CUMULO_CONF_DIR": str(conf)}
    with ServeProcess(
        *COMPACT_ARGS, log=tmp_path / "serve.log", env=env, keys=keys, start_timeout=120
    ) as serve:
        yield Server(serve)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """The server, with template downloads from 127.0.0.1 allowed."""
    with _serve(database_url, tmp_path, SETTINGS) as running:
        yield running


@pytest.fixture
def fast_ping_server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """The server pinging hosts every second (``ping.timeout`` 2: Alert after 2 s)."""
    with _serve(database_url, tmp_path, {**SETTINGS, **FAST_PING}) as running:
        yield running


def _zone(call: Server) -> dict[str, str]:
    """A basic zone with its physical network, providers, pod and guest range."""
    zone = call(
        "createZone", name="kvm", networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.2"
    )["zone"]
    network = call("createPhysicalNetwork", zoneid=zone["id"], name="kvm-physical")[
        "physicalnetwork"
    ]
    for traffic in ("Management", "Guest", "Storage"):
        call("addTrafficType", physicalnetworkid=network["id"], traffictype=traffic)
    providers = call("listNetworkServiceProviders", physicalnetworkid=network["id"])
    for provider in providers.get("networkserviceprovider", []):
        if provider["name"] in ("VirtualRouter", "SecurityGroupProvider"):
            call("updateNetworkServiceProvider", id=provider["id"], state="Enabled")
    call("updatePhysicalNetwork", id=network["id"], state="Enabled")
    pod = call(
        "createPod",
        zoneid=zone["id"],
        name="kvm-pod",
        gateway="192.0.2.1",
        netmask="255.255.255.0",
        startip="192.0.2.10",
        endip="192.0.2.49",
    )["pod"]
    call(
        "createVlanIpRange",
        zoneid=zone["id"],
        podid=pod["id"],
        gateway="192.0.2.1",
        netmask="255.255.255.0",
        startip="192.0.2.100",
        endip="192.0.2.199",
        forvirtualnetwork="false",
    )
    cluster = call(
        "addCluster",
        zoneid=zone["id"],
        podid=pod["id"],
        clustername="kvm-cluster",
        hypervisor="KVM",
        clustertype="CloudManaged",
    )["cluster"][0]
    return {"zone": zone["id"], "pod": pod["id"], "cluster": cluster["id"]}


def _add_host(call: Server, ids: dict[str, str], url: str) -> dict[str, Any]:
    (host,) = call(
        "addHost",
        zoneid=ids["zone"],
        podid=ids["pod"],
        clusterid=ids["cluster"],
        hypervisor="KVM",
        url=url,
        username="root",
        password="not-needed-over-unix",
    )["host"]
    return dict(host)


def _url(daemon: PeerDaemon, address: str) -> str:
    """The unix transport opens a libvirtd of this machine; the URL's server is the
    host's address as the cloud knows it (in the pod's subnet, REQ-POD-03)."""
    return f"qemu+unix://{address}/system?socket={daemon.socket}&{QEMU}"


def _domain_xml(daemon: PeerDaemon, instance: str) -> ET.Element:
    conn = libvirt.open(daemon.uri)
    try:
        return ET.fromstring(conn.lookupByName(instance).XMLDesc(0))
    finally:
        conn.close()


def _running(daemon: PeerDaemon, instance: str) -> bool:
    conn = libvirt.open(daemon.uri)
    try:
        return bool(conn.lookupByName(instance).isActive())
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


def test_addhost_deploy_boot_volume_and_lifecycle_on_real_kvm_hosts(
    server: Server,
    kvm_hosts: tuple[PeerDaemon, PeerDaemon],
    guest_image: Path,
    bridges: None,
    tmp_path: Path,
) -> None:
    call = server
    ids = _zone(call)
    first, second = kvm_hosts

    # addHost brings both hosts Up with their real CPU and memory.
    host = _add_host(call, ids, _url(first, "192.0.2.11"))
    peer = _add_host(call, ids, _url(second, "192.0.2.12"))
    conn = libvirt.open(first.uri)
    _model, memory_mib, cpus, mhz, *_ = conn.getInfo()
    conn.close()
    assert (host["state"], host["hypervisor"], host["type"]) == ("Up", "KVM", "Routing")
    assert (host["cpunumber"], host["cpuspeed"], host["memorytotal"]) == (
        cpus,
        mhz,
        memory_mib * 1024 * 1024,
    )
    assert peer["state"] == "Up" and peer["id"] != host["id"]

    # Shared primary storage on both hosts; secondary storage with the system template.
    primary = tmp_path / "primary"
    primary.mkdir()
    pool = call(
        "createStoragePool",
        zoneid=ids["zone"],
        podid=ids["pod"],
        clusterid=ids["cluster"],
        name="kvm-primary",
        url=f"SharedMountPoint://{primary}",
    )["storagepool"]
    assert pool["state"] == "Up" and int(pool["disksizetotal"]) > 0
    secondary = tmp_path / "secondary"
    secondary.mkdir()
    subprocess.run(
        [
            cumulo_executable(),
            "install-systemvm-template",
            "-m",
            str(secondary),
            "-u",
            str(guest_image),
            "-h",
            "kvm",
            "-t",
            "3",
        ],
        check=True,
        capture_output=True,
    )
    call("addSecondaryStorage", zoneid=ids["zone"], url=f"file://{secondary}")
    call("updateZone", id=ids["zone"], allocationstate="Enabled")

    # The template, registered from a local HTTP server, downloads to the store.
    ostype = (
        call("listOsTypes", description="Other Linux (64-bit)").get("ostype")
        or call("listOsTypes")["ostype"]
    )
    with TemplateServer({"/tiny-guest.qcow2": guest_image.read_bytes()}) as web:
        (template,) = call(
            "registerTemplate",
            name="tiny-guest",
            displaytext="busybox guest booting with SYSLINUX",
            url=web.url("/tiny-guest.qcow2"),
            format="QCOW2",
            hypervisor="KVM",
            ostypeid=ostype[0]["id"],
            zoneid=ids["zone"],
        )["template"]
        deadline = time.monotonic() + JOB_DEADLINE
        entry: dict[str, Any] = {}
        while time.monotonic() < deadline:
            listed = call.poll("listTemplates", templatefilter="self", id=template["id"])
            entry = listed["template"][0] if listed else entry
            if entry.get("isready"):
                break
            assert "fail" not in str(entry.get("status", "")).lower(), entry
            time.sleep(1)
        assert entry.get("isready"), entry

    # Deploy on the first host: the domain runs and boots the template.
    offering = next(
        o for o in call("listServiceOfferings")["serviceoffering"] if o["name"] == "Small Instance"
    )
    vm = call(
        "deployVirtualMachine",
        zoneid=ids["zone"],
        templateid=template["id"],
        serviceofferingid=offering["id"],
        hostid=host["id"],
        name="kvm-e2e",
    )["virtualmachine"]
    assert (vm["state"], vm["hostid"]) == ("Running", host["id"])
    (listed,) = call("listVirtualMachines", id=vm["id"])["virtualmachine"]
    instance = listed["instancename"]
    domain = _domain_xml(first, instance)
    assert domain.get("type") == "qemu"
    assert int(domain.findtext("memory")) * 1024 == offering["memory"] * 1024 * 1024
    (nic,) = domain.findall("devices/interface")
    assert nic.find("source").get("bridge") == "cloudbr1"  # guest traffic, no label
    assert nic.find("mac").get("address") == listed["nic"][0]["macaddress"]
    assert 5900 <= int(domain.find("devices/graphics").get("port")) <= 6100
    root_source = domain.find("devices/disk/source").get("file")
    assert root_source.startswith(str(primary))
    log = first.serial_log(instance)
    assert wait_for_text(log, GUEST_READY, BOOT_DEADLINE), log.read_text(errors="replace")[-3000:]

    # A data volume attaches (hot-plugged: in the live domain XML) and detaches.
    disk_offering = next(
        d for d in call("listDiskOfferings")["diskoffering"] if not d.get("iscustomized")
    )
    volume = call(
        "createVolume", name="kvm-data", zoneid=ids["zone"], diskofferingid=disk_offering["id"]
    )["volume"]
    attached = call("attachVolume", id=volume["id"], virtualmachineid=vm["id"])["volume"]
    assert attached["virtualmachineid"] == vm["id"]
    sources = [d.get("file") for d in _domain_xml(first, instance).findall("devices/disk/source")]
    data_path = next(s for s in sources if s and s != root_source)
    assert data_path.startswith(str(primary))
    call("detachVolume", id=volume["id"])
    sources = [d.get("file") for d in _domain_xml(first, instance).findall("devices/disk/source")]
    assert data_path not in sources

    # Stop (graceful: the guest powers off on the ACPI button), start, reboot, destroy.
    assert call("stopVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Stopped"
    assert not _running(first, instance)
    assert call("startVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"
    assert _running(first, instance)
    assert wait_for_text(log, GUEST_READY, BOOT_DEADLINE)
    assert call("rebootVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"
    # The guest shut down and booted again in the same QEMU: two boots in one log.
    assert wait_for_text(log, GUEST_BOOTED, BOOT_DEADLINE, count=2)
    assert call("destroyVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Destroyed"
    assert not _running(first, instance)


def test_killing_libvirtd_moves_the_host_to_alert_down_and_back_up(
    fast_ping_server: Server, kvm_hosts: tuple[PeerDaemon, PeerDaemon]
) -> None:
    call = fast_ping_server
    ids = _zone(call)
    first, second = kvm_hosts
    steady = _add_host(call, ids, _url(first, "192.0.2.11"))
    failing = _add_host(call, ids, _url(second, "192.0.2.12"))
    assert call.host_state(failing["id"]) == "Up"
    second.kill()
    try:
        assert call.wait_for_host(failing["id"], ("Alert", "Down")) in ("Alert", "Down")
        assert call.wait_for_host(failing["id"], ("Down",)) == "Down"
        assert call.host_state(steady["id"]) == "Up"  # the other host kept answering
    finally:
        second.start()
    assert call.wait_for_host(failing["id"], ("Up",)) == "Up"
    listed = call("listEvents", type="ALERT.COMPUTE.HOST", listall=True, page=1, pagesize=100)
    events = listed.get("event", [])
    texts = [e["description"] for e in events if failing["id"] in e["description"]]
    assert any("to Down" in t for t in texts) and any("to Up" in t for t in texts), texts
