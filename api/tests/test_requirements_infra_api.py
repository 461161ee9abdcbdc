"""Rules of the infrastructure issue (REQUIREMENTS CAP-10 to CAP-15, §2 object model)
that no other test cited, each proven over the real API: signed 4.1 requests through
falcon's TestClient, async jobs run by the job worker, the demo zone's simulated hosts
and its real ``file://`` secondary store.

Every test names the requirement it proves in its docstring. Where a second hypervisor
is needed (a zone mixing hypervisors, XenServer's PreSetup storage) a small fake driver
is registered next to the real simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.demo import ensure_demo_zone
from cumulo.infra.hosts.models import Host, HostType
from cumulo.runtime import Runtime
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostInfo,
    HostPing,
    HostRef,
    HostStatus,
    HypervisorDriver,
)
from cumulo.sdk.storage import PoolRef, PrimaryStorageDriver, StorageCapacity, StorageUrl
from cumulo.templates.models import TemplateZoneRef, VMTemplate
from cumulo.templates.testing import TemplateServer
from cumulo.testing.fakes import registered_drivers
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

pytest.importorskip("cumulo_simulator")
from cumulo_simulator.hypervisor import SimulatorHypervisor
from cumulo_simulator.storage import SimulatorStorage

Keys = tuple[str, str]
GB = 1000**3
QCOW2_BITS = b"QFI\xfb" + bytes(4092)
ISO_BITS = b"CD001" + bytes(2043)


class Api:
    """Signed calls as one caller; async commands are run to completion."""

    def __init__(self, api: falcon.testing.TestClient, runtime: Runtime, keys: Keys) -> None:
        self.api, self.runtime, self.keys = api, runtime, keys

    def as_(self, keys: Keys) -> Api:
        return Api(self.api, self.runtime, keys)

    def _send(self, command: str, params: Mapping[str, Any]) -> tuple[int, Any]:
        result = signed_request(self.api, self.keys, command, **params)
        (body,) = json.loads(result.content).values()
        if result.status_code == 200 and "jobid" in body and command != "queryAsyncJobResult":
            run_pending(self.runtime, CommandRegistry.build(self.runtime.pm))
            job = self("queryAsyncJobResult", jobid=body["jobid"])
            if job["jobstatus"] == 2:
                return int(job["jobresult"]["errorcode"]), job["jobresult"]
            return 200, job["jobresult"]
        return result.status_code, body

    def __call__(self, command: str, **params: Any) -> Any:
        """The answer of a call that must succeed (the job result for async ones)."""
        status, body = self._send(command, params)
        assert status == 200, f"{command}: {body}"
        return body

    def error(self, command: str, **params: Any) -> tuple[int, str]:
        """``(errorcode, errortext)`` of a call that must fail, at once or in its job."""
        status, body = self._send(command, params)
        assert status != 200, f"{command} succeeded: {body}"
        return int(body["errorcode"]), str(body["errortext"])


class FakeKvm(HypervisorDriver):
    """A KVM host: every URL answers, 4 cores of 2000 MHz and 4 GiB."""

    name: ClassVar[str] = "KVM"

    def connect(self, connection: HostConnection) -> HostInfo:
        return HostInfo(connection.url, 1, 4, 2000, 4 * 2**30, "qemu 1.5", ("hvm",))

    def disconnect(self, host: HostRef) -> None:
        return None

    def ping(self, host: HostRef, timeout: float) -> HostPing:
        return HostPing(host.guid, HostStatus.UP)


class FakeXenServer(FakeKvm):
    """A XenServer host, same hardware."""

    name: ClassVar[str] = "XenServer"

    def connect(self, connection: HostConnection) -> HostInfo:
        return HostInfo(connection.url, 1, 4, 2000, 4 * 2**30, "6.0.2", ("hvm", "pv"))


class FakeXenStorage(PrimaryStorageDriver):
    """XenServer storage repositories: each SR holds 500 GB."""

    name: ClassVar[str] = "XenServer"
    attached: ClassVar[list[str]] = []

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        return StorageUrl.parse(url)

    def attach_pool(self, pool: PoolRef) -> StorageCapacity:
        self.attached.append(pool.url)
        return StorageCapacity(500 * GB, 0)

    def detach_pool(self, pool: PoolRef) -> None:
        return None


@pytest.fixture
def demo(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo zone (enabled, four simulated hosts, primary and ``file://`` secondary
    storage, the built-in template downloaded) and its pod's and cluster's ids."""
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    return {"zone": zone, "data": tmp_path / "data"}


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Api:
    return Api(api, runtime, admin_keys)


@pytest.fixture
def more_hypervisors() -> Iterator[None]:
    """The simulator plus fake KVM and XenServer drivers (hosts and XenServer SRs)."""
    with (
        registered_drivers(
            "cumulo.hypervisors",
            {"Simulator": SimulatorHypervisor, "KVM": FakeKvm, "XenServer": FakeXenServer},
        ),
        registered_drivers(
            "cumulo.storage", {"Simulator": SimulatorStorage, "XenServer": FakeXenStorage}
        ),
    ):
        yield


def _ids(cloud: Api, demo: dict[str, Any]) -> tuple[str, str]:
    """The ids of the demo zone's first pod and cluster (others may be added)."""
    (pod,) = cloud("listPods", zoneid=demo["zone"], name="Demo Pod")["pod"]
    (cluster,) = cloud("listClusters", zoneid=demo["zone"], name="Demo Cluster")["cluster"]
    return pod["id"], cluster["id"]


def _deploy(caller: Api, zone: str, **params: Any) -> Any:
    """Deploy the demo's featured built-in template with the Small Instance offering
    (unless ``serviceofferingid`` is given)."""
    (template,) = caller("listTemplates", templatefilter="featured", zoneid=zone)["template"]
    if "serviceofferingid" not in params:
        (small,) = caller("listServiceOfferings", name="Small Instance")["serviceoffering"]
        params["serviceofferingid"] = small["id"]
    answer = caller("deployVirtualMachine", zoneid=zone, templateid=template["id"], **params)
    return answer["virtualmachine"]


def _add_host(cloud: Api, demo: dict[str, Any], name: str, **params: Any) -> Any:
    pod, cluster = _ids(cloud, demo)
    params.setdefault("podid", pod)
    params.setdefault("clusterid", cluster)
    (host,) = cloud(
        "addHost", zoneid=demo["zone"], hypervisor="Simulator", username="root",
        password="password", url=f"http://sim/{name}?cpus=4&speed=2000&memory=8GiB", **params,
    )["host"]  # fmt: skip
    return host


def _second_pod(cloud: Api, zone: str) -> Any:
    return cloud(
        "createPod", zoneid=zone, name="Pod 2", gateway="192.168.101.1",
        netmask="255.255.255.0", startip="192.168.101.10", endip="192.168.101.49",
    )["pod"]  # fmt: skip


# ---- pods (CAP-11) ----------------------------------------------------------------


def test_req_pod_04_pods_are_never_shown_to_end_users(
    cloud: Api, demo: dict[str, Any], user_keys: Keys, domain_admin_keys: Keys
) -> None:
    """REQ-POD-04: listPods (and every pod command) is refused to end users and domain
    admins with 432, the 4.1 answer for a command outside the caller's role; zones
    they do see carry no pod."""
    assert cloud("listPods", zoneid=demo["zone"])["count"] == 1
    for keys in (user_keys, domain_admin_keys):
        caller = cloud.as_(keys)
        for command, params in (
            ("listPods", {}),
            ("createPod", {"zoneid": demo["zone"], "name": "p", "gateway": "10.9.0.1",
                           "netmask": "255.255.255.0", "startip": "10.9.0.10"}),
        ):  # fmt: skip
            code, text = caller.error(command, **params)
            assert code == 432, text
        (zone,) = caller("listZones")["zone"]
        assert zone["id"] == demo["zone"] and not any("pod" in key for key in zone)


def test_req_pod_01_more_pods_can_be_added_at_any_time(cloud: Api, demo: dict[str, Any]) -> None:
    """REQ-POD-01: the first pod came with the zone (the wizard's pod step); another pod
    is added to the zone while it is enabled and running VMs, and takes its own
    cluster and hosts."""
    (zone,) = cloud("listZones", id=demo["zone"])["zone"]
    assert zone["allocationstate"] == "Enabled"
    vm = _deploy(cloud, demo["zone"])
    assert vm["state"] == "Running"
    pod = _second_pod(cloud, demo["zone"])
    assert pod["zoneid"] == demo["zone"] and pod["allocationstate"] == "Enabled"
    assert cloud("listPods", zoneid=demo["zone"])["count"] == 2
    (cluster,) = cloud(
        "addCluster", zoneid=demo["zone"], podid=pod["id"], clustername="Pod 2 Cluster",
        hypervisor="Simulator", clustertype="CloudManaged",
    )["cluster"]  # fmt: skip
    host = _add_host(cloud, demo, "pod2-host1", podid=pod["id"], clusterid=cluster["id"])
    assert host["podid"] == pod["id"] and host["state"] == "Up"


def test_req_pod_03_each_basic_pod_has_its_own_guest_range(
    cloud: Api, demo: dict[str, Any]
) -> None:
    """REQ-POD-03: in a basic zone each pod is its own broadcast domain with its own
    guest IP range: a guest range needs a pod (431 without podid), lies in that pod's
    subnet (431 otherwise), and a VM started on a host of the second pod gets its
    address from that pod's range, not the first pod's."""
    pod = _second_pod(cloud, demo["zone"])
    range_params = {
        "zoneid": demo["zone"], "forvirtualnetwork": False, "gateway": "192.168.101.1",
        "netmask": "255.255.255.0", "startip": "192.168.101.100", "endip": "192.168.101.199",
    }  # fmt: skip
    code, text = cloud.error("createVlanIpRange", **range_params)
    assert code == 431 and "podid" in text
    first_pod, _ = _ids(cloud, demo)
    code, text = cloud.error(
        "createVlanIpRange", **{**range_params, "podid": pod["id"], "gateway": "192.168.100.1",
                                "startip": "192.168.100.200", "endip": "192.168.100.210"},
    )  # fmt: skip
    assert code == 431 and "startip" in text
    guest = cloud("createVlanIpRange", podid=pod["id"], **range_params)["vlan"]
    assert guest["podid"] == pod["id"]
    ranges = cloud("listVlanIpRanges", zoneid=demo["zone"])["vlan"]
    assert {r["podid"] for r in ranges} == {first_pod, pod["id"]}
    (cluster,) = cloud(
        "addCluster", zoneid=demo["zone"], podid=pod["id"], clustername="Pod 2 Cluster",
        hypervisor="Simulator", clustertype="CloudManaged",
    )["cluster"]  # fmt: skip
    host = _add_host(cloud, demo, "pod2-host1", podid=pod["id"], clusterid=cluster["id"])
    cloud(
        "createStoragePool", zoneid=demo["zone"], podid=pod["id"], clusterid=cluster["id"],
        name="Pod 2 Primary", url="nfs://pod2.simulator/export/primary?capacity=1TiB",
    )  # fmt: skip
    there = _deploy(cloud, demo["zone"], hostid=host["id"])
    here = _deploy(cloud, demo["zone"])
    assert there["hostid"] == host["id"] and here["hostid"] != host["id"]
    assert there["nic"][0]["ipaddress"].startswith("192.168.101.")
    assert here["nic"][0]["ipaddress"].startswith("192.168.100.")


def test_req_om_17_every_pod_has_a_reserved_management_range(
    cloud: Api, demo: dict[str, Any]
) -> None:
    """REQ-OM-17: the reserved IP range of the management network (for system VMs) is
    part of every pod: createPod without startip is a 431, a range outside the pod's
    subnet is a 431, and every pod of every zone lists its reserved range."""
    common = {"zoneid": demo["zone"], "gateway": "192.168.102.1", "netmask": "255.255.255.0"}
    code, text = cloud.error("createPod", name="no-range", **common)
    assert code == 431 and "startip" in text
    code, text = cloud.error(
        "createPod", name="outside", startip="192.168.103.10", endip="192.168.103.20", **common
    )
    assert code == 431 and "startip" in text
    other = cloud("createZone", name="Other", networktype="Advanced", dns1="8.8.8.8",
                  internaldns1="10.0.0.2")["zone"]  # fmt: skip
    cloud(
        "createPod", zoneid=other["id"], name="Other Pod", gateway="172.16.5.1",
        netmask="255.255.255.0", startip="172.16.5.2", endip="172.16.5.7",
    )  # fmt: skip
    pods = cloud("listPods")["pod"]
    assert len(pods) == 2 and {p["zoneid"] for p in pods} == {demo["zone"], other["id"]}
    for pod in pods:
        assert pod["startip"] and pod["endip"] and pod["gateway"] and pod["netmask"]
    assert {(p["startip"], p["endip"]) for p in pods} == {
        ("192.168.100.10", "192.168.100.49"),
        ("172.16.5.2", "172.16.5.7"),
    }


# ---- hosts (CAP-13) and the object model (§2) -------------------------------------


def test_req_host_06_hosts_and_where_vms_run_are_invisible_to_users(
    cloud: Api, demo: dict[str, Any], user_keys: Keys
) -> None:
    """REQ-HOST-06: an end user cannot list hosts (or clusters, or primary storage:
    432), and the user's own VM, deployed and listed, never says which host runs it
    (no hostid, hostname); the root admin sees both."""
    user = cloud.as_(user_keys)
    for command in ("listHosts", "listClusters", "listStoragePools"):
        code, text = user.error(command)
        assert code == 432, text
    vm = _deploy(user, demo["zone"])
    assert vm["state"] == "Running"
    (listed,) = user("listVirtualMachines", id=vm["id"])["virtualmachine"]
    for shown in (vm, listed):
        assert "hostid" not in shown and "hostname" not in shown
    (seen,) = cloud("listVirtualMachines", id=vm["id"], listall=True)["virtualmachine"]
    host = cloud("listHosts", id=seen["hostid"])["host"][0]
    assert seen["hostname"] == host["name"]


def test_req_host_08_host_tags_reach_the_allocator(cloud: Api, demo: dict[str, Any]) -> None:
    """REQ-HOST-08: the host tags given to addHost (and changed by updateHost) are what
    the allocator matches against the offering's host tag: a VM of an offering tagged
    ``gpu`` lands on the one host carrying it, among five; untag it and no host fits."""
    tagged = _add_host(cloud, demo, "gpu-host", hosttags="gpu,ssd")
    assert set(tagged["hosttags"].split(",")) == {"gpu", "ssd"}
    offering = cloud(
        "createServiceOffering", name="GPU", displaytext="GPU", cpunumber=1, cpuspeed=500,
        memory=512, hosttags="gpu",
    )["serviceoffering"]  # fmt: skip
    for _ in range(2):
        vm = _deploy(cloud, demo["zone"], serviceofferingid=offering["id"])
        assert vm["hostid"] == tagged["id"]
    cloud("updateHost", id=tagged["id"], hosttags="ssd")
    code, text = cloud.error(
        "deployVirtualMachine", zoneid=demo["zone"], serviceofferingid=offering["id"],
        templateid=cloud("listTemplates", templatefilter="featured")["template"][0]["id"],
    )  # fmt: skip
    assert code == 533 and "gpu" in text


def test_req_host_01_req_om_07_hosts_join_a_running_zone(cloud: Api, demo: dict[str, Any]) -> None:
    """REQ-HOST-01 / REQ-OM-07: a host is added to an existing cluster of an enabled
    zone that runs VMs; it is Up at once (its CPU and memory discovered), the zone's
    capacity grows by exactly its resources, and VMs can be placed on it."""
    _deploy(cloud, demo["zone"])

    def totals() -> dict[int, int]:
        rows = cloud("listCapacity", zoneid=demo["zone"])["capacity"]
        return {row["type"]: row["capacitytotal"] for row in rows}

    before = totals()
    host = _add_host(cloud, demo, "late-host")
    assert host["state"] == "Up" and host["resourcestate"] == "Enabled"
    assert (host["cpunumber"], host["cpuspeed"], host["memorytotal"]) == (4, 2000, 8 * 2**30)
    after = totals()
    assert after[0] - before[0] == 8 * 2**30  # memory
    assert after[1] - before[1] == 4 * 2000  # CPU MHz
    listed = cloud("listHosts", zoneid=demo["zone"], type="Routing")
    assert listed["count"] == 5 and host["id"] in {h["id"] for h in listed["host"]}
    vm = _deploy(cloud, demo["zone"], hostid=host["id"])
    assert vm["hostid"] == host["id"] and vm["state"] == "Running"


def test_req_om_02_a_cluster_of_one_host(cloud: Api, demo: dict[str, Any]) -> None:
    """REQ-OM-02: a cluster is created even for a single host: addCluster, one addHost,
    its own primary storage; a VM placed on that host has its root disk on that
    cluster's pool."""
    pod, demo_cluster = _ids(cloud, demo)
    (cluster,) = cloud(
        "addCluster", zoneid=demo["zone"], podid=pod, clustername="Solo",
        hypervisor="Simulator", clustertype="CloudManaged",
    )["cluster"]  # fmt: skip
    host = _add_host(cloud, demo, "solo-host", clusterid=cluster["id"])
    pool = cloud(
        "createStoragePool", zoneid=demo["zone"], podid=pod, clusterid=cluster["id"],
        name="Solo Primary", url="nfs://solo.simulator/export/primary?capacity=1TiB",
    )["storagepool"]  # fmt: skip
    assert cloud("listHosts", clusterid=cluster["id"])["count"] == 1
    assert cluster["id"] != demo_cluster
    vm = _deploy(cloud, demo["zone"], hostid=host["id"])
    (root,) = cloud("listVolumes", virtualmachineid=vm["id"], type="ROOT")["volume"]
    assert root["storage"] == pool["name"] and root["state"] == "Ready"


def test_req_om_03_many_clusters_zones_and_mixed_hypervisors(
    cloud: Api, demo: dict[str, Any], more_hypervisors: None
) -> None:
    """REQ-OM-03: a cloud holds many zones and clusters, and one zone may hold clusters
    of different hypervisors: the demo zone gets a KVM cluster beside its Simulator
    one, a second zone its own clusters; listClusters and listHypervisors show them."""
    pod, _ = _ids(cloud, demo)
    (kvm,) = cloud(
        "addCluster", zoneid=demo["zone"], podid=pod, clustername="KVM Cluster",
        hypervisor="KVM", clustertype="CloudManaged",
    )["cluster"]  # fmt: skip
    (host,) = cloud(
        "addHost", zoneid=demo["zone"], podid=pod, clusterid=kvm["id"], hypervisor="KVM",
        url="http://192.168.100.60", username="root", password="password",
    )["host"]  # fmt: skip
    assert host["hypervisor"] == "KVM" and host["clusterid"] == kvm["id"]
    zone = cloud("createZone", name="Second", networktype="Basic", dns1="8.8.8.8",
                 internaldns1="10.0.0.2")["zone"]  # fmt: skip
    second_pod = cloud(
        "createPod", zoneid=zone["id"], name="Second Pod", gateway="10.20.0.1",
        netmask="255.255.255.0", startip="10.20.0.10", endip="10.20.0.20",
    )["pod"]  # fmt: skip
    for index, hypervisor in enumerate(("Simulator", "XenServer", "XenServer")):
        cloud(
            "addCluster", zoneid=zone["id"], podid=second_pod["id"], hypervisor=hypervisor,
            clustername=f"c{index}", clustertype="CloudManaged",
        )  # fmt: skip
    in_demo = cloud("listClusters", zoneid=demo["zone"])["cluster"]
    assert sorted(c["hypervisortype"] for c in in_demo) == ["KVM", "Simulator"]
    assert cloud("listClusters")["count"] == 5
    assert cloud("listZones")["count"] == 2
    hypervisors = cloud("listHypervisors", zoneid=demo["zone"])["hypervisor"]
    assert {"KVM", "Simulator"} <= {h["name"] for h in hypervisors}


def test_req_om_20_basic_and_advanced_zones_coexist(cloud: Api, demo: dict[str, Any]) -> None:
    """REQ-OM-20: an advanced zone is created beside the basic demo zone, each keeps
    its network type, and the basic zone still deploys."""
    advanced = cloud(
        "createZone", name="Advanced", networktype="Advanced", dns1="8.8.8.8",
        internaldns1="10.0.0.2", guestcidraddress="10.1.1.0/24",
    )["zone"]  # fmt: skip
    network = cloud("createPhysicalNetwork", zoneid=advanced["id"], name="adv-physical",
                    isolationmethods="VLAN", vlan="500-599")["physicalnetwork"]  # fmt: skip
    assert network["zoneid"] == advanced["id"]
    types = {z["name"]: z["networktype"] for z in cloud("listZones")["zone"]}
    assert types == {"Demo": "Basic", "Advanced": "Advanced"}
    assert _deploy(cloud, demo["zone"])["state"] == "Running"


# ---- primary storage (CAP-14) -----------------------------------------------------


def test_req_ps_08_xenserver_presetup_sr(
    cloud: Api, demo: dict[str, Any], more_hypervisors: None
) -> None:
    """REQ-PS-08: storage XenServer cannot attach itself (Fibre Channel, iSCSI
    multipath) is a pre-created SR added with protocol PreSetup and the SR's
    name-label: accepted on a XenServer cluster, stored as PreSetup with the label as
    its path; the same URL on a KVM cluster is a 431 naming url."""
    pod, _ = _ids(cloud, demo)
    clusters = {}
    for hypervisor, address in (("XenServer", "192.168.100.70"), ("KVM", "192.168.100.71")):
        (clusters[hypervisor],) = cloud(
            "addCluster", zoneid=demo["zone"], podid=pod, clustername=f"{hypervisor} c",
            hypervisor=hypervisor, clustertype="CloudManaged",
        )["cluster"]  # fmt: skip
        cloud(
            "addHost", zoneid=demo["zone"], podid=pod, clusterid=clusters[hypervisor]["id"],
            hypervisor=hypervisor, url=f"http://{address}", username="root", password="pw",
        )  # fmt: skip
    label = "3f1c9a52-7c43-4e0b-9d6a-1b2c3d4e5f60"
    url = f"presetup://192.168.100.70/{label}"
    pool = cloud(
        "createStoragePool", zoneid=demo["zone"], podid=pod,
        clusterid=clusters["XenServer"]["id"], name="fc-sr", url=url,
    )["storagepool"]  # fmt: skip
    assert pool["type"] == "PreSetup" and pool["path"] == f"/{label}"
    assert FakeXenStorage.attached[-1] == url
    code, text = cloud.error(
        "createStoragePool", zoneid=demo["zone"], podid=pod, clusterid=clusters["KVM"]["id"],
        name="fc-sr-kvm", url=url,
    )  # fmt: skip
    assert code == 431 and text.startswith("url")


# ---- secondary storage (CAP-15) and templates across zones ------------------------


@pytest.fixture
def server() -> Iterator[TemplateServer]:
    with TemplateServer({"/app.qcow2": QCOW2_BITS, "/boot.iso": ISO_BITS}) as running:
        yield running


def _os_type(caller: Api) -> str:
    return str(caller("listOsTypes", description="CentOS 5.5 (64-bit)")["ostype"][0]["id"])


def _register_template(caller: Api, zone: str, url: str) -> Any:
    (template,) = caller(
        "registerTemplate", name="app", displaytext="app", url=url, format="QCOW2",
        hypervisor="Simulator", ostypeid=_os_type(caller), zoneid=zone,
    )["template"]  # fmt: skip
    return template


def _allow_loopback(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        runtime.config_store(session).set("secstorage.allowed.internal.sites", "127.0.0.0/8")
        session.commit()


def test_req_ss_08_downloads_honour_the_allowed_internal_sites(
    cloud: Api, demo: dict[str, Any], server: TemplateServer, user_keys: Keys
) -> None:
    """REQ-SS-08: a template URL on an internal address is only fetched when its
    address lies in a CIDR of secstorage.allowed.internal.sites: refused (431 naming
    url and the setting) while 127.0.0.1 is not listed, registered and downloaded to
    the zone's secondary storage once the operator lists 127.0.0.0/8."""
    user = cloud.as_(user_keys)
    url = server.url("/app.qcow2")
    code, text = user.error(
        "registerTemplate", name="app", displaytext="app", url=url, format="QCOW2",
        hypervisor="Simulator", ostypeid=_os_type(user), zoneid=demo["zone"],
    )  # fmt: skip
    assert code == 431 and "url" in text and "secstorage.allowed.internal.sites" in text
    assert server.requests == []
    cloud("updateConfiguration", name="secstorage.allowed.internal.sites", value="127.0.0.0/8")
    template = _register_template(user, demo["zone"], url)
    run_pending(cloud.runtime, CommandRegistry.build(cloud.runtime.pm))
    (listed,) = user("listTemplates", templatefilter="self", id=template["id"])["template"]
    assert listed["isready"] is True and server.requests


def test_req_ss_01_templates_and_isos_live_on_secondary_storage(
    cloud: Api, demo: dict[str, Any], server: TemplateServer, runtime: Runtime
) -> None:
    """REQ-SS-01: secondary storage holds the templates (the built-in one and a
    registered one) and ISO images: each downloaded object is recorded on the zone's
    secondary storage host and its bits are in that store's directory."""
    _allow_loopback(runtime)
    template = _register_template(cloud, demo["zone"], server.url("/app.qcow2"))
    (iso,) = cloud(
        "registerIso", name="boot", displaytext="boot", url=server.url("/boot.iso"),
        zoneid=demo["zone"], ostypeid=_os_type(cloud),
    )["iso"]  # fmt: skip
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    (store,) = cloud("listHosts", type="SecondaryStorage", zoneid=demo["zone"])["host"]
    directory = Path(demo["data"]) / "secondary"
    with runtime.sessions() as session:
        rows = session.execute(
            select(VMTemplate.uuid, VMTemplate.format, TemplateZoneRef.install_path, Host.uuid)
            .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
            .join(Host, Host.id == TemplateZoneRef.store_id)
            .where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).all()
    found = {uuid: (fmt, path, host) for uuid, fmt, path, host in rows}
    assert template["id"] in found and iso["id"] in found
    assert any(fmt == "ISO" for fmt, _, _ in found.values())
    for _, path, host in found.values():
        assert host == store["id"] and path
        assert (directory / path).exists(), path
    assert (directory / found[iso["id"]][1]).read_bytes() == ISO_BITS


def test_req_om_10_private_templates_are_scoped_to_their_zone(
    cloud: Api, demo: dict[str, Any], server: TemplateServer, user_keys: Keys, runtime: Runtime
) -> None:
    """REQ-OM-10: a private template registered in one zone is usable there only: a
    deployment into another zone the user may use is a 431 naming templateid, while
    the same template deploys in its own zone."""
    _allow_loopback(runtime)
    user = cloud.as_(user_keys)
    template = _register_template(user, demo["zone"], server.url("/app.qcow2"))
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    other = cloud("createZone", name="Far", networktype="Basic", dns1="8.8.8.8",
                  internaldns1="10.0.0.2")["zone"]  # fmt: skip
    cloud("updateConfiguration", name="system.vm.local.storage.required", value="true")
    cloud("updateZone", id=other["id"], allocationstate="Enabled")
    (small,) = user("listServiceOfferings", name="Small Instance")["serviceoffering"]
    code, text = user.error(
        "deployVirtualMachine", zoneid=other["id"], templateid=template["id"],
        serviceofferingid=small["id"],
    )  # fmt: skip
    assert code == 431 and "templateid" in text
    vm = user(
        "deployVirtualMachine", zoneid=demo["zone"], templateid=template["id"],
        serviceofferingid=small["id"],
    )["virtualmachine"]  # fmt: skip
    assert vm["state"] == "Running" and vm["templateid"] == template["id"]
