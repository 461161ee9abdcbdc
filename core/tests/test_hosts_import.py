"""Adding hosts with the rules that need the driver: a vSphere cluster is imported with
its hosts (REQ-CL-03), hosts running VMs are refused (REQ-CL-04, REQ-HOST-05), and
``xen.setup.multipath`` turns multipath on for XenServer hosts (REQ-PS-09).

The VMware and XenServer drivers are fakes here (no real driver is installed in this
repository yet); the simulator's own cluster import and busy hosts are tested for real
in api/tests/test_alerts_api.py and plugins/simulator/tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pluggy
import pytest
from sqlalchemy import select
from test_hosts_support import FakeHypervisor, make_zone, seeded_runtime

from cumulo.infra.hosts import cluster_import, clusters, hosts
from cumulo.infra.hosts.models import Host, HostDetail
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.hypervisor import HostConnection, HostRef, VmState
from cumulo.testing.fakes import registered_drivers

VCENTER = clusters.VCenter(url="https://vc/dc1/cluster1", username="admin", password="s3")


class FakeVCenter(FakeHypervisor):
    """A vCenter cluster of :attr:`members` ESXi hosts; :attr:`busy` hosts run a VM."""

    name: ClassVar[str] = "VMware"
    members: ClassVar[int] = 3
    busy: ClassVar[set[str]] = set()

    def discover_cluster_hosts(self, connection: HostConnection) -> list[HostConnection]:
        return [
            HostConnection(f"https://10.1.0.{i + 1}", connection.username, connection.password)
            for i in range(self.members)
        ]

    def vm_states(self, host: HostRef) -> dict[str, VmState]:
        address = hosts.host_address(host.connection.url)
        return {"vm-1": VmState.RUNNING} if address in self.busy else {}


class MultipathXen(FakeHypervisor):
    """A XenServer driver that can turn multipath on; remembers the hosts it did."""

    name: ClassVar[str] = "XenServer"
    enabled: ClassVar[list[str]] = []

    def enable_multipath(self, host: HostRef) -> None:
        self.enabled.append(host.guid)


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = seeded_runtime(migrated_database_url, plugin_manager)
    yield built
    built.close()


def _vmware_cluster(session, zone, pod):  # type: ignore[no-untyped-def]
    return clusters.add_cluster(
        session, zone=zone, pod=pod, name="vc1", hypervisor="VMware",
        cluster_type="ExternalManaged", vcenter=VCENTER,
    )  # fmt: skip


def test_req_cl_03_vcenter_cluster_hosts_are_imported(runtime: Runtime) -> None:
    """REQ-CL-03: adding a vSphere cluster adds every host vCenter reports in it, with
    the vCenter login stored (encrypted password) and the cluster's limit applied
    (REQ-CL-02: 8 for vSphere)."""
    FakeVCenter.members, FakeVCenter.busy = 3, set()
    with registered_drivers("cumulo.hypervisors", {"VMware": FakeVCenter}):
        with runtime.sessions.begin() as session:
            zone, pod = make_zone(session)
            cluster = _vmware_cluster(session, zone, pod)
            added = cluster_import.import_cluster_hosts(session, cluster, VCENTER, database_key="k")
            assert [h.private_ip_address for h in added] == ["10.1.0.1", "10.1.0.2", "10.1.0.3"]
            assert {h.cluster_id for h in added} == {cluster.id}
            assert {h.hypervisor_type for h in added} == {"VMware"}
            logins = session.scalars(
                select(HostDetail.value).where(HostDetail.name == "username")
            ).all()
            assert logins == ["admin"] * 3
        FakeVCenter.members = 9
        with runtime.sessions.begin() as session:
            zone, pod = make_zone(session, "zone2")
            big = clusters.add_cluster(
                session, zone=zone, pod=pod, name="vc2", hypervisor="VMware",
                cluster_type="ExternalManaged", vcenter=VCENTER,
            )  # fmt: skip
            with pytest.raises(InvalidParameterValue, match="REQ-CL-02"):
                cluster_import.import_cluster_hosts(session, big, VCENTER)


def test_req_cl_03_vmware_without_a_driver_is_refused(runtime: Runtime) -> None:
    """REQ-CL-03: with no VMware driver installed the cluster's hosts cannot be
    imported, so addCluster is refused (431), not left empty."""
    with registered_drivers("cumulo.hypervisors", {}), runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        cluster = _vmware_cluster(session, zone, pod)
        with pytest.raises(InvalidParameterValue, match="REQ-CL-03"):
            cluster_import.import_cluster_hosts(session, cluster, VCENTER)


def test_req_cl_04_imported_host_running_vms_refuses_the_import(runtime: Runtime) -> None:
    """REQ-CL-04: one host of the vCenter cluster runs a VM: the import is refused with
    a 431 naming it, and the caller's transaction adds no host."""
    FakeVCenter.members, FakeVCenter.busy = 3, {"10.1.0.2"}
    with registered_drivers("cumulo.hypervisors", {"VMware": FakeVCenter}):
        refused = pytest.raises(InvalidParameterValue, match=r"10\.1\.0\.2.*REQ-CL-04")
        with refused, runtime.sessions.begin() as session:
            zone, pod = make_zone(session)
            cluster = _vmware_cluster(session, zone, pod)
            cluster_import.import_cluster_hosts(session, cluster, VCENTER)
        with runtime.sessions() as session:
            assert session.scalars(select(Host.id)).all() == []
    FakeVCenter.busy = set()


def test_req_host_05_add_host_refuses_a_busy_kvm_host(runtime: Runtime) -> None:
    """REQ-HOST-05: addHost checks vm_states right after connect (431 naming url)."""

    class BusyKvm(FakeHypervisor):
        def vm_states(self, host: HostRef) -> dict[str, VmState]:
            return {"old-vm": VmState.RUNNING, "off-vm": VmState.STOPPED}

    busy = registered_drivers("cumulo.hypervisors", {"KVM": BusyKvm})
    with busy, runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        new = hosts.NewHost("http://10.1.0.7", "root", "pw", "KVM")
        with pytest.raises(InvalidParameterValue, match=r"url.*1 VM\(s\) \(old-vm\)"):
            hosts.add_host(session, new, zone=zone, pod=pod, cluster_name="c")


def test_req_ps_09_xen_setup_multipath(runtime: Runtime) -> None:
    """REQ-PS-09: with xen.setup.multipath a XenServer host gets multipath enabled as it
    is added; a driver that cannot do it makes addHost a 431 naming the setting; KVM
    hosts are not concerned."""
    new = hosts.NewHost("http://10.1.0.8", "root", "pw", "XenServer")
    plain = registered_drivers(
        "cumulo.hypervisors", {"XenServer": FakeHypervisor, "KVM": FakeHypervisor}
    )
    with plain, runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        with pytest.raises(InvalidParameterValue, match=r"xen\.setup\.multipath.*REQ-PS-09"):
            hosts.add_host(session, new, zone=zone, pod=pod, cluster_name="x", multipath=True)
        kvm = hosts.NewHost("http://10.1.0.9", "root", "pw", "KVM")
        hosts.add_host(session, kvm, zone=zone, pod=pod, cluster_name="k", multipath=True)
    MultipathXen.enabled = []
    capable = registered_drivers("cumulo.hypervisors", {"XenServer": MultipathXen})
    with capable, runtime.sessions.begin() as session:
        zone, pod = make_zone(session, "zone2")
        host = hosts.add_host(session, new, zone=zone, pod=pod, cluster_name="x2", multipath=True)
        assert MultipathXen.enabled == [host.guid]
        other = hosts.NewHost("http://10.1.0.10", "root", "pw", "XenServer")
        hosts.add_host(session, other, zone=zone, pod=pod, cluster_name="x2")
        assert len(MultipathXen.enabled) == 1  # setting off: not asked
