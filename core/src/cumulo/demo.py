"""``cumulo demo``: a basic zone of simulated hosts, ready for virtual machines, and
(:func:`ensure_demo_zones`) the advanced zone ``Demo Advanced`` for isolated networks
(:mod:`cumulo.network.networks.demo`).

What it builds is what an operator gets by walking the seed's basic-zone wizard
(REQUIREMENTS §13.4) with the security-group offering, named ``Demo``:

- zone ``Demo``: Basic, security groups on, public DNS 8.8.8.8/8.8.4.4;
- one physical network carrying Management, Guest and Storage traffic, enabled, with
  the VirtualRouter and SecurityGroupProvider providers enabled;
- pod ``Demo Pod`` (``192.168.100.0/24``, system range ``.10``-``.49``) and the guest
  range ``.100``-``.199`` in the same subnet (one NIC, REQ-ZONE-07);
- cluster ``Demo Cluster`` of hypervisor ``Simulator`` holding four hosts of different
  sizes (their hardware is in the simulator URL, plugins/simulator/README.md), at
  ``192.168.100.51``-``.54`` in the pod's subnet (REQ-POD-03); they are diskless
  (``localstorage=0``): the zone uses shared storage only, so it has no host-local
  pools (REQ-PS-06) and ``listStoragePools`` shows its one primary storage;
- primary storage ``Demo Primary`` (a 2 TiB simulated NFS pool) and secondary storage
  in a local directory (``file:///<data dir>/secondary``);
- the built-in templates of the zone's hypervisor on that store (REQ-INIT-02): the
  simulator's ``CentOS 5.3(64-bit) no GUI (Simulator)``, whose image the simulator's
  storage driver produces itself (:mod:`cumulo.templates.builtin`), downloaded here
  and now so the zone is ready to deploy a VM as soon as the server runs;
- and finally the zone enabled.

Why the core services and not the API: the topology commands that create physical
networks, traffic types and providers are async *create* commands, whose handlers need a
job row; the services below them are what those handlers call, take a :class:`Call` only
to attribute events, and work in the caller's transaction. So each step here is one
transaction through the same services the API uses, with the same rules and events,
acting as the ``system`` account (as the integration API does). The ``cumulo-api``
distribution is not needed.

Idempotent: every step first looks for what it would create (by name, URL or place)
and does nothing if it exists, so a second run writes nothing, not even an event; a run
cut short is finished by the next one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cumulo.auth.identity import principal_by_user_id
from cumulo.events import record
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
    Zone,
)
from cumulo.infra.storage import pools, secondary
from cumulo.infra.storage.commands import COMMANDS as STORAGE_COMMANDS
from cumulo.infra.storage.commands.support import warn
from cumulo.infra.storage.models import PoolScope, StoragePool
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, Command
from cumulo.sdk.errors import CloudError, InternalError
from cumulo.setup.seed import SYSTEM_USER_ID
from cumulo.templates.models import VMTemplate

ZONE = "Demo"
POD = "Demo Pod"
CLUSTER = "Demo Cluster"
PRIMARY = "Demo Primary"
HYPERVISOR = "Simulator"
PRIMARY_URL = "nfs://demo.simulator/export/primary?capacity=2TiB"
TRAFFIC = ("Management", "Guest", "Storage")
PROVIDERS = ("VirtualRouter", "SecurityGroupProvider")
HOST_URLS = (
    "http://192.168.100.51/demo-host1?sockets=2&cpus=16&speed=2400&memory=64GiB&localstorage=0",
    "http://192.168.100.52/demo-host2?sockets=2&cpus=8&speed=2400&memory=32GiB&localstorage=0",
    "http://192.168.100.53/demo-host3?sockets=1&cpus=4&speed=2000&memory=16GiB&localstorage=0",
    "http://192.168.100.54/demo-host4?sockets=1&cpus=4&speed=3000&memory=8GiB&localstorage=0",
)
"""The demo hosts: one big, one medium, two small (different speeds), diskless, at
addresses of the pod's subnet outside its system and guest ranges; the simulator names
each after the URL's last path segment."""
SECONDARY_DIR = "secondary"
"""The secondary storage directory, under the data directory."""

Row = TypeVar("Row", Zone, PhysicalNetwork, Pod, VlanIpRange, Cluster, Host, StoragePool)

_DECLARATIONS = {c.name: c for c in (*TOPOLOGY_COMMANDS, *HOST_COMMANDS, *STORAGE_COMMANDS)}


class DemoError(Exception):
    """The demo zone cannot be made here; the message says why (one line)."""


@dataclass
class DemoOutcome:
    """What a run did.

    :param zone_uuid: the demo zone's public id.
    :param created: one line per thing this run created or changed, in order
        (``created pod Demo Pod ...``); empty when the demo zone was already complete.
    """

    zone_uuid: str = ""
    created: list[str] = field(default_factory=list)


class _Builder:
    """The steps, each in a transaction of its own; rows are passed between steps by
    internal id and read again in the next transaction."""

    def __init__(self, runtime: Runtime, data_dir: Path, msid: int | None) -> None:
        self.runtime, self.data_dir, self.msid = runtime, data_dir, msid
        self.outcome = DemoOutcome()
        self.zone_id = self.pod_id = self.cluster_id = 0

    @contextlib.contextmanager
    def step(self, command: str) -> Iterator[Call]:
        """A transaction and a call as the ``system`` account running ``command``
        (the declaration only names what the step stands for; events use the caller)."""
        with self.runtime.sessions.begin() as session:
            system = principal_by_user_id(session, SYSTEM_USER_ID)
            if system is None:
                raise DemoError("the system account is missing: the database was not seeded")
            yield Call(
                command=_declaration(command),
                ctx=system.context(),
                session=session,
                params={},
                pm=self.runtime.pm,
                services={"runtime": self.runtime},
            )

    def done(self, line: str) -> None:
        self.outcome.created.append(line)

    # ---- the steps, in the wizard's order --------------------------------------------

    def zone(self) -> None:
        with self.step("createZone") as call:
            zone = _live(call.session, Zone, Zone.name == ZONE)
            if zone is None:
                zone = zones.create_zone(
                    call,
                    name=ZONE,
                    networktype=NetworkType.BASIC.value,
                    dns1="8.8.8.8",
                    dns2="8.8.4.4",
                    internaldns1="8.8.8.8",
                    domain="demo.cumulo",
                    securitygroupenabled=True,
                    allocationstate=AllocationState.DISABLED.value,
                )
                self.done(f"created zone {ZONE} (Basic, security groups)")
            elif zone.networktype != NetworkType.BASIC or not zone.is_security_group_enabled:
                raise DemoError(
                    f"a zone named {ZONE} exists but is not a basic zone with security groups;"
                    " rename or delete it first"
                )
            self.zone_id, self.outcome.zone_uuid = zone.id, zone.uuid

    def network(self) -> None:
        with self.step("createPhysicalNetwork") as call:
            session, zone = call.session, self._zone(call.session)
            network = _live(session, PhysicalNetwork, PhysicalNetwork.data_center_id == zone.id)
            if network is None:
                network = physical_networks.create_physical_network(
                    call, zone, name=f"{ZONE} Physical Network"
                )
                self.done(f"created physical network {network.name}")
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
                    # The wizard labels the traffic for the first cluster's hypervisor;
                    # 4.1 has no API parameter for the simulator's label, so set it here.
                    row.simulator_network_label = "cloudbr0"
                    self.done(f"added traffic type {kind}")
            self._enable_providers(call, network)
            if network.state != PhysicalNetworkState.ENABLED.value:
                physical_networks.update_physical_network(
                    call, network, state=PhysicalNetworkState.ENABLED.value
                )
                self.done(f"enabled physical network {network.name}")

    def _enable_providers(self, call: Call, network: PhysicalNetwork) -> None:
        rows = call.session.scalars(
            select(PhysicalNetworkServiceProvider).where(
                PhysicalNetworkServiceProvider.physical_network_id == network.id,
                PhysicalNetworkServiceProvider.provider_name.in_(PROVIDERS),
            )
        ).all()
        for row in rows:
            if row.state != "Enabled":
                providers.update_provider(call, row, state="Enabled")
                self.done(f"enabled provider {row.provider_name}")
        missing = set(PROVIDERS) - {row.provider_name for row in rows}
        if missing:
            # 4.1 (and create_physical_network) add both to every physical network.
            raise DemoError(f"the demo physical network lacks {', '.join(sorted(missing))}")

    def pod(self) -> None:
        with self.step("createPod") as call:
            zone = self._zone(call.session)
            pod = _live(call.session, Pod, Pod.data_center_id == zone.id, Pod.name == POD)
            if pod is None:
                pod = pods.create_pod(
                    call,
                    zone,
                    name=POD,
                    gateway="192.168.100.1",
                    netmask="255.255.255.0",
                    startip="192.168.100.10",
                    endip="192.168.100.49",
                )
                self.done(f"created pod {POD} (system IPs 192.168.100.10-49)")
            self.pod_id = pod.id

    def guest_range(self) -> None:
        with self.step("createVlanIpRange") as call:
            session = call.session
            if _live(session, VlanIpRange, VlanIpRange.pod_id == self.pod_id) is not None:
                return
            ip_ranges.create_vlan_ip_range(
                call,
                self._zone(session),
                pod=session.get_one(Pod, self.pod_id),
                gateway="192.168.100.1",
                netmask="255.255.255.0",
                startip="192.168.100.100",
                endip="192.168.100.199",
                vlan=None,
                forvirtualnetwork=False,
            )
            self.done("created guest IP range 192.168.100.100-199")

    def cluster(self) -> None:
        with self.step("addCluster") as call:
            session = call.session
            cluster = _live(
                session, Cluster, Cluster.pod_id == self.pod_id, Cluster.name == CLUSTER
            )
            if cluster is None:
                cluster = clusters.add_cluster(
                    session,
                    zone=self._zone(session),
                    pod=session.get_one(Pod, self.pod_id),
                    name=CLUSTER,
                    hypervisor=HYPERVISOR,
                    cluster_type=ClusterType.CLOUD_MANAGED.value,
                )
                self.done(f"created cluster {CLUSTER} ({HYPERVISOR})")
            elif cluster.hypervisor_type != HYPERVISOR:
                raise DemoError(f"cluster {CLUSTER} exists but runs {cluster.hypervisor_type}")
            self.cluster_id = cluster.id

    def host(self, url: str) -> None:
        with self.step("addHost") as call:
            session = call.session
            # By URL, or by name: a demo zone made before the hosts had addresses
            # (http://sim/demo-host1) already has them.
            name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
            same = or_(Host.url == url, Host.name == name)
            if _live(session, Host, Host.cluster_id == self.cluster_id, same):
                return
            host = hosts.add_host(
                session,
                hosts.NewHost(url=url, username="root", password="password", hypervisor=HYPERVISOR),
                zone=self._zone(session),
                pod=session.get_one(Pod, self.pod_id),
                cluster=session.get_one(Cluster, self.cluster_id),
                database_key=self.runtime.database_key,
                algorithm=self.runtime.algorithm,
                msid=self.msid,
            )
            self.done(
                f"added host {host.name}: {host.cpus} x {host.speed} MHz,"
                f" {(host.total_memory or 0) // 2**30} GiB"
            )

    def primary(self) -> None:
        with self.step("createStoragePool") as call:
            session = call.session
            shared = StoragePool.scope == PoolScope.CLUSTER.value
            if _live(session, StoragePool, StoragePool.cluster_id == self.cluster_id, shared):
                return
            change = pools.create_pool(
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
            pool = change.pool
            # As createStoragePool records them (REQ-PS-04's warning included).
            record(
                call,
                "STORAGE.POOL.CREATE",
                f"Added {pool.pool_type} primary storage '{pool.name}' at {PRIMARY_URL}",
                resource_type="StoragePool",
                resource_uuid=pool.uuid,
            )
            lines = [pools.DATA_LOSS_WARNING, *change.warnings]
            warn(call, "STORAGE.POOL.CREATE", lines, resource_type="StoragePool", uuid=pool.uuid)
            self.done(f"added primary storage {PRIMARY} ({PRIMARY_URL})")

    def secondary(self) -> None:
        with self.step("addSecondaryStorage") as call:
            session = call.session
            zone = self._zone(session)
            kind = Host.type == HostType.SECONDARY_STORAGE.value
            if _live(session, Host, Host.data_center_id == zone.id, kind) is not None:
                return
            directory = (self.data_dir / SECONDARY_DIR).absolute()
            directory.mkdir(parents=True, exist_ok=True)
            added = secondary.add_secondary_storage(session, zone=zone, url=f"file://{directory}")
            store = added.host
            record(
                call,
                "SECONDARY.STORAGE.ADD",
                f"Added secondary storage {store.url}",
                resource_type="Host",
                resource_uuid=store.uuid,
            )
            warn(
                call, "SECONDARY.STORAGE.ADD", added.warnings, resource_type="Host", uuid=store.uuid
            )
            self.done(f"added secondary storage {store.url}")

    def templates(self) -> None:
        # The template sync adds the zone's built-in templates (cumulo.templates.sync);
        # their downloads run here rather than as jobs, so the first start is ready.
        from cumulo.templates.download import download_to_zone
        from cumulo.templates.sync import sync_zone

        for _, uuid in sync_zone(self.runtime, self.zone_id, queue_jobs=False):
            outcome = download_to_zone(self.runtime, uuid, self.zone_id)
            if outcome.error is not None:
                raise DemoError(f"cannot download the built-in template {uuid}: {outcome.error}")
            with self.runtime.sessions() as session:
                name = session.scalar(select(VMTemplate.name).where(VMTemplate.uuid == uuid))
            self.done(f"downloaded template {name} to secondary storage (Download Complete)")

    def enable(self) -> None:
        with self.step("updateZone") as call:
            zone = self._zone(call.session)
            if zone.allocation_state != AllocationState.ENABLED.value:
                zones.update_zone(call, zone, {"allocationstate": AllocationState.ENABLED.value})
                self.done(f"enabled zone {ZONE}")

    def _zone(self, session: Session) -> Zone:
        return session.get_one(Zone, self.zone_id)


def _declaration(name: str) -> Command:
    found = _DECLARATIONS.get(name)
    if found is None:  # a renamed command: a programming error, not the operator's
        raise InternalError(f"the demo step {name} has no command declaration")
    return found


def _live(session: Session, model: type[Row], *where: object) -> Row | None:
    """The first not-removed row of ``model`` matching ``where`` (lowest id)."""
    stmt = select(model).where(model.removed.is_(None), *where).order_by(model.id)  # type: ignore[arg-type]
    return session.scalars(stmt.limit(1)).first()


def ensure_demo_zone(runtime: Runtime, data_dir: Path, *, msid: int | None = None) -> DemoOutcome:
    """Create whatever part of the demo zone (module docstring) is missing.

    :param runtime: a runtime on a migrated, seeded cloud database; the ``Simulator``
        hypervisor and storage drivers (``cumulo-simulator``) must be installed.
    :param data_dir: the secondary storage directory goes in ``<data_dir>/secondary``
        (created if missing).
    :param msid: the management server the hosts are shown as connected to.
    :raises DemoError: an object of the demo's name exists but is not what the demo
        makes, or a rule of the cloud refused a step (its 431/534 message).
    """
    builder = _Builder(runtime, data_dir, msid)
    try:
        builder.zone()
        builder.network()
        builder.pod()
        builder.guest_range()
        builder.cluster()
        for url in HOST_URLS:
            builder.host(url)
        builder.primary()
        builder.secondary()
        builder.templates()
        builder.enable()
    except CloudError as exc:
        raise DemoError(f"cannot create the demo zone: {exc}") from exc
    return builder.outcome


def ensure_demo_zones(runtime: Runtime, data_dir: Path, *, msid: int | None = None) -> DemoOutcome:
    """:func:`ensure_demo_zone`, then the advanced zone ``Demo Advanced``
    (:mod:`cumulo.network.networks.demo`): isolated networks, a virtual router, public
    addresses and port forwarding to try. Its lines follow the basic zone's.

    :raises DemoError: either zone cannot be made (one line).
    """
    from cumulo.network.networks.demo import AdvancedDemoError, ensure_advanced_demo_zone

    outcome = ensure_demo_zone(runtime, data_dir, msid=msid)
    try:
        _, lines = ensure_advanced_demo_zone(runtime, data_dir, msid=msid)
    except AdvancedDemoError as exc:
        raise DemoError(str(exc)) from exc
    outcome.created.extend(lines)
    return outcome


def report(outcome: DemoOutcome) -> None:
    """Tell the operator what :func:`ensure_demo_zone` did."""
    if not outcome.created:
        click.echo(f"The demo zone {ZONE} is complete (id {outcome.zone_uuid}); nothing to do.")
        return
    click.echo(f"Demo zone {ZONE} (id {outcome.zone_uuid}):")
    for line in outcome.created:
        click.echo(f"  {line}")


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the secondary storage directory goes [default: beside the SQLite"
    " database, else <conf_dir>/../data].",
)
@click.pass_context
def demo(ctx: click.Context, data_dir: Path | None) -> None:
    """Create the basic zone "Demo" and the advanced zone "Demo Advanced" of simulated
    hosts with their storage (idempotent).

    Uses the deployment of CUMULO_CONF_DIR; without a db.properties there, creates the
    embedded one first, as 'cumulo embedded' does."""
    from cumulo.embedded import data_dir_for, open_embedded, use_simulator_state
    from cumulo.plugins import plugin_manager_for
    from cumulo.settings import SettingsError, conf_dir
    from cumulo.setup.publish import properties_path

    pm = plugin_manager_for(ctx)
    conf = conf_dir()
    if not properties_path(conf).exists():
        open_embedded(pm)
    try:
        runtime = Runtime.from_conf(conf, pm=pm)
    except (SettingsError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        home = data_dir_for(runtime.engine.url, conf)
        # Hosts are discovered in this process: their simulated hardware must land in
        # the state file the server's processes read.
        use_simulator_state(home)
        report(ensure_demo_zones(runtime, data_dir or home))
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runtime.close()
