"""The demo's advanced zone ``Demo Advanced`` (issue 6, item 8): what an operator gets by
walking the seed's advanced-zone wizard, so that a new user can create an isolated
network, deploy a VM into it and forward a port to it from the README's run command
alone (``cumulo demo`` builds the basic zone ``Demo`` and then this one):

- zone ``Demo Advanced``: Advanced, guest CIDR ``10.1.1.0/24``, DNS 8.8.8.8/8.8.4.4;
- one physical network carrying Management, Guest, Public and Storage traffic with the
  guest VLAN range ``100-199``, the VirtualRouter provider enabled, the network enabled;
- pod ``Demo Advanced Pod`` (``192.168.200.0/24``, system range ``.10``-``.49``);
- the public IP range ``203.0.113.10``-``.99`` (gateway ``203.0.113.1``, untagged; the
  documentation block of RFC 5737, another subnet than the pod's, REQ-NET-07);
- cluster ``Demo Advanced Cluster`` of hypervisor ``Simulator`` with two diskless hosts
  at ``192.168.200.51``/``.52``, primary storage ``Demo Advanced Primary`` (simulated
  NFS), secondary storage ``<data dir>/secondary-advanced`` with the simulator's
  built-in template downloaded;
- and the zone enabled.

Same rules as :mod:`cumulo.demo`: each step is one transaction through the services
the API uses, acting as the ``system`` account; every step first looks for what it
would create, so a second run writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cumulo.auth.identity import principal_by_user_id
from cumulo.infra import ip_ranges, physical_networks, pods, providers, traffic_types, zones
from cumulo.infra.commands import COMMANDS as TOPOLOGY_COMMANDS
from cumulo.infra.hosts import clusters, hosts
from cumulo.infra.hosts.commands import COMMANDS as HOST_COMMANDS
from cumulo.infra.hosts.models import Cluster, ClusterType, Host, HostType
from cumulo.infra.models import (
    AllocationState,
    NetworkType,
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkState,
    PhysicalNetworkTrafficType,
    Pod,
    VlanIpRange,
    VlanType,
    Zone,
)
from cumulo.infra.storage import pools, secondary
from cumulo.infra.storage.commands import COMMANDS as STORAGE_COMMANDS
from cumulo.infra.storage.models import StoragePool
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call
from cumulo.sdk.errors import CloudError

ZONE = "Demo Advanced"
POD = "Demo Advanced Pod"
CLUSTER = "Demo Advanced Cluster"
PRIMARY = "Demo Advanced Primary"
PRIMARY_URL = "nfs://demo.simulator/export/advanced?capacity=2TiB"
HYPERVISOR = "Simulator"
GUEST_VLANS = "100-199"
TRAFFIC = ("Management", "Guest", "Public", "Storage")
PROVIDER = "VirtualRouter"
PUBLIC = {"gateway": "203.0.113.1", "netmask": "255.255.255.0"}
PUBLIC_RANGE = ("203.0.113.10", "203.0.113.99")
HOST_URLS = (
    "http://192.168.200.51/adv-host1?sockets=2&cpus=8&speed=2400&memory=32GiB&localstorage=0",
    "http://192.168.200.52/adv-host2?sockets=2&cpus=8&speed=2400&memory=32GiB&localstorage=0",
)
SECONDARY_DIR = "secondary-advanced"
SYSTEM_USER_ID = 1


class AdvancedDemoError(Exception):
    """The advanced demo zone cannot be made here; the message says why (one line)."""


class _Builder:
    def __init__(self, runtime: Runtime, data_dir: Path, msid: int | None) -> None:
        self.runtime, self.data_dir, self.msid = runtime, data_dir, msid
        self.created: list[str] = []
        self.zone_id = self.pod_id = self.cluster_id = 0
        self.commands = {c.name: c for c in (*TOPOLOGY_COMMANDS, *HOST_COMMANDS, *STORAGE_COMMANDS)}

    @contextlib.contextmanager
    def step(self, command: str) -> Iterator[Call]:
        with self.runtime.sessions.begin() as session:
            system = principal_by_user_id(session, SYSTEM_USER_ID)
            if system is None:
                raise AdvancedDemoError(
                    "the system account is missing: the database was not seeded"
                )
            yield Call(
                command=self.commands[command],
                ctx=system.context(),
                session=session,
                params={},
                pm=self.runtime.pm,
                services={"runtime": self.runtime},
            )

    def _zone(self, session: Session) -> Zone:
        return session.get_one(Zone, self.zone_id)

    def zone(self) -> None:
        with self.step("createZone") as call:
            zone = call.session.scalars(
                select(Zone).where(Zone.name == ZONE, Zone.removed.is_(None))
            ).first()
            if zone is None:
                zone = zones.create_zone(
                    call,
                    name=ZONE,
                    networktype=NetworkType.ADVANCED.value,
                    dns1="8.8.8.8",
                    dns2="8.8.4.4",
                    internaldns1="8.8.8.8",
                    guestcidraddress="10.1.1.0/24",
                    allocationstate=AllocationState.DISABLED.value,
                )
                self.created.append(f"created zone {ZONE} (Advanced)")
            elif zone.networktype != NetworkType.ADVANCED.value:
                raise AdvancedDemoError(
                    f"a zone named {ZONE} exists but is not an advanced zone; rename or delete it"
                )
            self.zone_id = zone.id

    def network(self) -> None:
        with self.step("createPhysicalNetwork") as call:
            session, zone = call.session, self._zone(call.session)
            network = session.scalars(
                select(PhysicalNetwork).where(
                    PhysicalNetwork.data_center_id == zone.id, PhysicalNetwork.removed.is_(None)
                )
            ).first()
            if network is None:
                network = physical_networks.create_physical_network(
                    call, zone, name=f"{ZONE} Physical Network", vlan=GUEST_VLANS
                )
                self.created.append(
                    f"created physical network {network.name} (VLANs {GUEST_VLANS})"
                )
            carried = set(
                session.scalars(
                    select(PhysicalNetworkTrafficType.traffic_type).where(
                        PhysicalNetworkTrafficType.physical_network_id == network.id
                    )
                )
            )
            for kind in TRAFFIC:
                if kind not in carried:
                    row = traffic_types.add_traffic_type(call, network, traffictype=kind, labels={})
                    row.simulator_network_label = "cloudbr0"
                    self.created.append(f"added traffic type {kind}")
            router = session.scalars(
                select(PhysicalNetworkServiceProvider).where(
                    PhysicalNetworkServiceProvider.physical_network_id == network.id,
                    PhysicalNetworkServiceProvider.provider_name == PROVIDER,
                )
            ).first()
            if router is None:
                router = providers.add_provider(call, network, name=PROVIDER)
            if router.state != "Enabled":
                providers.update_provider(call, router, state="Enabled")
                self.created.append(f"enabled provider {PROVIDER}")
            if network.state != PhysicalNetworkState.ENABLED.value:
                physical_networks.update_physical_network(
                    call, network, state=PhysicalNetworkState.ENABLED.value
                )
                self.created.append(f"enabled physical network {network.name}")

    def pod(self) -> None:
        with self.step("createPod") as call:
            zone = self._zone(call.session)
            pod = call.session.scalars(
                select(Pod).where(Pod.data_center_id == zone.id, Pod.removed.is_(None))
            ).first()
            if pod is None:
                pod = pods.create_pod(
                    call,
                    zone,
                    name=POD,
                    gateway="192.168.200.1",
                    netmask="255.255.255.0",
                    startip="192.168.200.10",
                    endip="192.168.200.49",
                )
                self.created.append(f"created pod {POD} (system IPs 192.168.200.10-49)")
            self.pod_id = pod.id

    def public_range(self) -> None:
        with self.step("createVlanIpRange") as call:
            session = call.session
            exists = session.scalars(
                select(VlanIpRange).where(
                    VlanIpRange.data_center_id == self.zone_id,
                    VlanIpRange.vlan_type == VlanType.VIRTUAL_NETWORK.value,
                )
            ).first()
            if exists is not None:
                return
            ip_ranges.create_vlan_ip_range(
                call,
                self._zone(session),
                pod=None,
                gateway=PUBLIC["gateway"],
                netmask=PUBLIC["netmask"],
                startip=PUBLIC_RANGE[0],
                endip=PUBLIC_RANGE[1],
                vlan=None,
                forvirtualnetwork=True,
            )
            self.created.append(f"created public IP range {PUBLIC_RANGE[0]}-{PUBLIC_RANGE[1]}")

    def cluster(self) -> None:
        with self.step("addCluster") as call:
            session = call.session
            cluster = session.scalars(
                select(Cluster).where(Cluster.pod_id == self.pod_id, Cluster.removed.is_(None))
            ).first()
            if cluster is None:
                cluster = clusters.add_cluster(
                    session,
                    zone=self._zone(session),
                    pod=session.get_one(Pod, self.pod_id),
                    name=CLUSTER,
                    hypervisor=HYPERVISOR,
                    cluster_type=ClusterType.CLOUD_MANAGED.value,
                )
                self.created.append(f"created cluster {CLUSTER} ({HYPERVISOR})")
            self.cluster_id = cluster.id

    def hosts(self) -> None:
        for url in HOST_URLS:
            with self.step("addHost") as call:
                session = call.session
                # By URL, or by the name the simulator gives it (the URL's last segment).
                name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
                taken = session.scalars(
                    select(Host.id).where(
                        Host.cluster_id == self.cluster_id,
                        or_(Host.url == url, Host.name == name),
                        Host.removed.is_(None),
                    )
                ).first()
                if taken is not None:
                    continue
                host = hosts.add_host(
                    session,
                    hosts.NewHost(
                        url=url, username="root", password="password", hypervisor=HYPERVISOR
                    ),
                    zone=self._zone(session),
                    pod=session.get_one(Pod, self.pod_id),
                    cluster=session.get_one(Cluster, self.cluster_id),
                    database_key=self.runtime.database_key,
                    algorithm=self.runtime.algorithm,
                    msid=self.msid,
                )
                self.created.append(f"added host {host.name}")

    def storage(self) -> None:
        with self.step("createStoragePool") as call:
            session = call.session
            pool = session.scalars(
                select(StoragePool).where(
                    StoragePool.cluster_id == self.cluster_id, StoragePool.removed.is_(None)
                )
            ).first()
            if pool is None:
                pools.create_pool(
                    session,
                    zone=self._zone(session),
                    pod=session.get_one(Pod, self.pod_id),
                    cluster=session.get_one(Cluster, self.cluster_id),
                    name=PRIMARY,
                    url=PRIMARY_URL,
                    tags=None,
                    details={},
                    secrets=pools.Secrets(self.runtime.database_key, self.runtime.algorithm),
                )
                self.created.append(f"added primary storage {PRIMARY}")
        with self.step("addSecondaryStorage") as call:
            session = call.session
            store = session.scalars(
                select(Host.id).where(
                    Host.data_center_id == self.zone_id,
                    Host.type == HostType.SECONDARY_STORAGE.value,
                    Host.removed.is_(None),
                )
            ).first()
            if store is None:
                directory = (self.data_dir / SECONDARY_DIR).absolute()
                directory.mkdir(parents=True, exist_ok=True)
                secondary.add_secondary_storage(
                    session, zone=self._zone(session), url=f"file://{directory}"
                )
                self.created.append(f"added secondary storage file://{directory}")

    def templates(self) -> None:
        from cumulo.templates.download import download_to_zone
        from cumulo.templates.sync import sync_zone

        for _, uuid in sync_zone(self.runtime, self.zone_id, queue_jobs=False):
            outcome = download_to_zone(self.runtime, uuid, self.zone_id)
            if outcome.error is not None:
                raise AdvancedDemoError(
                    f"cannot download the built-in template {uuid}: {outcome.error}"
                )
            self.created.append(f"downloaded template {uuid} to {ZONE}")

    def enable(self) -> None:
        with self.step("updateZone") as call:
            zone = self._zone(call.session)
            if zone.allocation_state != AllocationState.ENABLED.value:
                zones.update_zone(call, zone, {"allocationstate": AllocationState.ENABLED.value})
                self.created.append(f"enabled zone {ZONE}")


def ensure_advanced_demo_zone(
    runtime: Runtime, data_dir: Path, *, msid: int | None = None
) -> tuple[str, list[str]]:
    """Create whatever part of the advanced demo zone (module doc) is missing.

    :return: the zone's public id and one line per thing created (empty when complete).
    :raises AdvancedDemoError: an object of the demo's name exists but is not what the
        demo makes, or a rule of the cloud refused a step.
    """
    builder = _Builder(runtime, data_dir, msid)
    try:
        builder.zone()
        builder.network()
        builder.pod()
        builder.public_range()
        builder.cluster()
        builder.hosts()
        builder.storage()
        builder.templates()
        builder.enable()
    except CloudError as exc:
        raise AdvancedDemoError(f"cannot create the advanced demo zone: {exc}") from exc
    with runtime.sessions() as session:
        uuid = session.get_one(Zone, builder.zone_id).uuid
    return uuid, builder.created
