"""A small cloud in a database, for tests of placement and of allocator plugins.

:class:`PlacementWorld` writes a zone, its pods, clusters, hosts (with their
materialised free capacity and tags) and primary storage pools straight into a
migrated database through the caller's session, so that a plugin's tests can run the
core's real placement service (:mod:`cumulo.placement.service`) over them::

    def test_my_weigher_changes_placement(db_session):
        world = PlacementWorld(db_session)
        world.add_host("h1", memory_gb=8)
        world.add_host("h2", memory_gb=8)
        world.configure("host.allocators.order", "HostCapacity,MyWeigher")
        assert world.place().host_id == world.hosts["h2"]

Nothing here is a fixture: use it with the ``db_session`` fixture of ``cumulo.testing``
(SQLite, or MariaDB with ``CUMULO_TEST_DB``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.config.models import Configuration
from cumulo.infra.hosts.models import Cluster, Host, HostTag
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage.models import StoragePool, StoragePoolTag

GB = 1024**3
_SERIAL = itertools.count(1)


@dataclass
class PlacementWorld:
    """Builds a zone (created at construction, with pod ``pod1`` and cluster
    ``cluster1`` of ``hypervisor``) and places VMs in it.

    :ivar zone_id: the zone's internal id.
    :ivar pods: pod name -> id; likewise :attr:`clusters`, :attr:`hosts`, :attr:`pools`.
    """

    session: Session
    hypervisor: str = "Simulator"
    zone_name: str = "world"
    zone_id: int = 0
    pods: dict[str, int] = field(default_factory=dict)
    clusters: dict[str, int] = field(default_factory=dict)
    hosts: dict[str, int] = field(default_factory=dict)
    pools: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        serial = next(_SERIAL)
        zone = Zone(
            name=f"{self.zone_name}-{serial}",
            dns1="8.8.8.8",
            internal_dns1="10.0.0.2",
            networktype="Basic",
        )
        self.session.add(zone)
        self.session.flush()
        self.zone_id = zone.id
        self.add_pod("pod1")
        self.add_cluster("cluster1")

    def add_pod(self, name: str, *, enabled: bool = True) -> int:
        """A pod of the zone."""
        number = len(self.pods) + 1
        pod = Pod(
            name=name,
            data_center_id=self.zone_id,
            gateway=f"10.{number}.0.1",
            cidr_address=f"10.{number}.0.0",
            cidr_size=24,
            description=f"10.{number}.0.10-10.{number}.0.20",
            reserved_start_num=10,
            reserved_end_num=20,
            allocation_state="Enabled" if enabled else "Disabled",
        )
        self.session.add(pod)
        self.session.flush()
        self.pods[name] = pod.id
        return pod.id

    def add_cluster(
        self,
        name: str,
        *,
        pod: str = "pod1",
        hypervisor: str | None = None,
        enabled: bool = True,
    ) -> int:
        """A cluster in ``pod``."""
        cluster = Cluster(
            name=name,
            pod_id=self.pods[pod],
            data_center_id=self.zone_id,
            hypervisor_type=hypervisor or self.hypervisor,
            allocation_state="Enabled" if enabled else "Disabled",
        )
        self.session.add(cluster)
        self.session.flush()
        self.clusters[name] = cluster.id
        return cluster.id

    def add_host(
        self,
        name: str,
        *,
        cluster: str = "cluster1",
        cpus: int = 4,
        speed: int = 2000,
        memory_gb: float = 8,
        free_cpu: int | None = None,
        free_memory: int | None = None,
        tags: tuple[str, ...] = (),
        status: str = "Up",
        resource_state: str = "Enabled",
        ip: str | None = None,
        hypervisor: str | None = None,
    ) -> int:
        """A ``Routing`` host of ``cluster`` (free capacity: all of it unless given)."""
        row = self.session.get(Cluster, self.clusters[cluster])
        assert row is not None
        total_memory = int(memory_gb * GB)
        serial = next(_SERIAL)
        host = Host(
            name=name,
            type="Routing",
            status=status,
            resource_state=resource_state,
            data_center_id=self.zone_id,
            pod_id=row.pod_id,
            cluster_id=row.id,
            hypervisor_type=hypervisor or row.hypervisor_type,
            guid=f"world-{serial}-{name}",
            private_ip_address=ip or f"192.168.{serial // 250}.{serial % 250 + 1}",
            cpu_sockets=1,
            cpus=cpus,
            speed=speed,
            total_memory=total_memory,
            free_cpu=cpus * speed if free_cpu is None else free_cpu,
            free_memory=total_memory if free_memory is None else free_memory,
        )
        self.session.add(host)
        self.session.flush()
        for tag in tags:
            self.session.add(HostTag(host_id=host.id, tag=tag))
        self.session.flush()
        self.hosts[name] = host.id
        return host.id

    def add_pool(
        self,
        name: str,
        *,
        cluster: str = "cluster1",
        capacity_gb: float = 1000,
        used_gb: float = 0,
        tags: tuple[str, ...] = (),
        local_to: str | None = None,
        pool_type: str | None = None,
        status: str = "Up",
    ) -> int:
        """A shared pool of ``cluster``, or the local pool of host ``local_to``."""
        row = self.session.get(Cluster, self.clusters[cluster])
        assert row is not None
        address = f"nfs-{next(_SERIAL)}.example"
        if local_to is not None:
            host = self.session.get(Host, self.hosts[local_to])
            assert host is not None and host.private_ip_address is not None
            address = host.private_ip_address
        pool = StoragePool(
            name=name,
            pool_type=pool_type or ("Filesystem" if local_to else "NetworkFilesystem"),
            data_center_id=self.zone_id,
            pod_id=row.pod_id,
            cluster_id=row.id,
            capacity_bytes=int(capacity_gb * GB),
            used_bytes=int(used_gb * GB),
            host_address=address,
            path=f"/export/{name}",
            status=status,
            scope="HOST" if local_to else "CLUSTER",
        )
        self.session.add(pool)
        self.session.flush()
        for tag in tags:
            self.session.add(StoragePoolTag(pool_id=pool.id, tag=tag))
        self.session.flush()
        self.pools[name] = pool.id
        return pool.id

    def add_vm(self, host: str, *, account_id: int, domain_id: int, state: str = "Running") -> int:
        """A VM of ``account_id`` on ``host`` (for planners that read the footprint);
        the account and domain rows must exist (``cumulo.setup.seed.seed_cloud``)."""
        from cumulo.compute.models import VirtualMachine

        row = self.session.get(Host, self.hosts[host])
        assert row is not None
        serial = next(_SERIAL)
        vm = VirtualMachine(
            name=f"vm-{serial}",
            instance_name=f"i-{account_id}-{serial}-VM",
            state=state,
            account_id=account_id,
            domain_id=domain_id,
            service_offering_id=1,
            data_center_id=self.zone_id,
            pod_id=row.pod_id,
            cluster_id=row.cluster_id,
            host_id=row.id,
            vnc_password="x",
        )
        self.session.add(vm)
        self.session.flush()
        return vm.id

    def dedicate(self, domain_id: int | None) -> None:
        """Dedicate the zone to a domain (4.1's private zone); ``None`` makes it public."""
        zone = self.session.get(Zone, self.zone_id)
        assert zone is not None
        zone.domain_id = domain_id
        self.session.flush()

    def configure(self, name: str, value: str | None) -> None:
        """Set a global setting (a ``configuration`` row) in this transaction."""
        row = self.session.get(Configuration, name)
        if row is None:
            self.session.add(Configuration(name=name, value=value))
        else:
            row.value = value
        self.session.flush()

    def request(self, **overrides: Any) -> Any:
        """A :class:`cumulo.placement.request.PlacementRequest` in this zone: 1 vCPU at
        500 MHz, 512 MB, account and domain 1, no disks; ``overrides`` replace fields."""
        from cumulo.placement.request import PlacementRequest

        fields: dict[str, Any] = {
            "zone_id": self.zone_id,
            "account_id": 1,
            "domain_id": 1,
            "cpu": 1,
            "speed": 500,
            "memory_mb": 512,
        }
        fields.update(overrides)
        return PlacementRequest(**fields)

    def place(self, **overrides: Any) -> Any:
        """Place :meth:`request` (with ``overrides``) through the core's service."""
        from cumulo.placement.service import place

        return place(self.session, self.request(**overrides))

    def explain(self, **overrides: Any) -> Any:
        """Explain :meth:`request` (with ``overrides``) through the core's service."""
        from cumulo.placement.service import explain

        return explain(self.session, self.request(**overrides))

    def free(self, host: str) -> tuple[int, int]:
        """``(free_cpu, free_memory)`` of ``host`` as the database has it now."""
        row = self.session.execute(
            select(Host.free_cpu, Host.free_memory).where(Host.id == self.hosts[host])
        ).one()
        return int(row[0]), int(row[1])

    def host_name(self, host_id: int) -> str:
        """The name of the host with internal id ``host_id``."""
        return next(name for name, value in self.hosts.items() if value == host_id)
