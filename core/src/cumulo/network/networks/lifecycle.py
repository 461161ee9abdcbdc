"""A guest network's life: implemented when its first VM starts (at once for a persistent
offering), shut down by the garbage collector when no VM runs on it, restarted,
destroyed (4.1 ``NetworkManagerImpl.implementNetwork``/``shutdownNetwork``/
``destroyNetwork``/``restartNetwork``).

Every transition is a conditional ``UPDATE networks SET state = ... WHERE id = ? AND
state IN (...)`` taken under the network's row lock, so two jobs cannot both move the
same network. The providers are called through the orchestrator
(:mod:`cumulo.network.orchestrator`), which **commits the session's transaction before
it calls them** (no transaction is held across a router start): the intermediate state
(``Implementing``, ``Shutdown``) is therefore visible to others, who wait for the
outcome, and a provider failure puts the network back in its previous state in a
transaction of its own before it is raised.

- **implement** (``Allocated``/``Shutdown`` → ``Implementing`` → ``Implemented``): a
  guest VLAN from the physical network unless the network has one (specified by the
  admin), the source-NAT address for an isolated network with SourceNat
  (:func:`ensure_resources`, also called alone by a VM start's reservation step, which
  needs the VLAN for the NIC), then every provider's ``implement`` (the orchestrator
  applies the rules after). A network whose implementation failed keeps its VLAN and
  address for the next attempt.
- **shutdown** (``Implemented`` → ``Shutdown`` → ``Allocated``): the providers' ``shutdown``,
  the VLAN and the source-NAT address given back (the address is kept while rules still
  use it: rules stay in the database and come back with the next implementation).
- **destroy** (``deleteNetwork``): refused while VMs use the network; providers'
  ``destroy``, every public address released, the shared network's IP ranges deleted,
  the VLAN given back, ``Destroy`` with ``removed`` set.

A shared network without NAT, firewall or load-balancing services is ``Setup`` from its
creation (4.1: nothing to implement) and stays so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine, VmType
from cumulo.db.base import utcnow
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType
from cumulo.limits.service import release as release_limit
from cumulo.limits.service import reserve
from cumulo.limits.types import ResourceType
from cumulo.network.ipam.addresses import release_public_ips, source_nat_ip, take_public_ip
from cumulo.network.networks import settings, vlans
from cumulo.network.networks.models import (
    AclType,
    GuestType,
    Network,
    NetworkServiceMap,
    NetworkState,
    OpNetwork,
)
from cumulo.network.offerings.models import NetworkOffering
from cumulo.network.rules.models import NetworkRule
from cumulo.sdk.errors import InternalError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.network import Service

log = logging.getLogger(__name__)

Cleanup = Callable[[Session, int], None]
"""``fn(session, network_id)``: remove what another area keeps for a network that is
being deleted (its rules), in the caller's transaction."""

_CLEANUPS: list[Cleanup] = []

IMPLEMENT_WAIT = 600.0
"""Seconds a start waits for another job's implementation of the same network (4.1's
``network.lock.timeout`` default)."""
POLL = 0.5

_SERVICES_NEEDING_IMPLEMENT = (
    Service.SOURCE_NAT.value,
    Service.STATIC_NAT.value,
    Service.FIREWALL.value,
    Service.PORT_FORWARDING.value,
    Service.LB.value,
)


def register_cleanup(fn: Cleanup) -> None:
    """Have ``fn`` called when a network is deleted, before its addresses are released
    (the rules area registers the removal of the network's rules). Registering the same
    function twice registers it once."""
    if fn not in _CLEANUPS:
        _CLEANUPS.append(fn)


def services(session: Session, network_id: int) -> dict[str, str | None]:
    """Service → provider of the network (one statement)."""
    rows = session.execute(
        select(NetworkServiceMap.service, NetworkServiceMap.provider).where(
            NetworkServiceMap.network_id == network_id
        )
    )
    return {service: provider for service, provider in rows}


def _set_state(session: Session, network_id: int, allowed: tuple[str, ...], state: str) -> bool:
    done = session.execute(
        update(Network)
        .where(Network.id == network_id, Network.state.in_(allowed), Network.removed.is_(None))
        .values(state=state)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _load(session: Session, network_id: int) -> tuple[Network, NetworkOffering]:
    row = session.execute(
        select(Network, NetworkOffering)
        .join(NetworkOffering, NetworkOffering.id == Network.network_offering_id)
        .where(Network.id == network_id)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise InternalError(f"network {network_id} does not exist")
    return row[0], row[1]


def needs_implementing(network: Network, network_services: dict[str, str | None]) -> bool:
    """Whether the network must be implemented before a VM can use it: every state but
    ``Implemented``, and ``Setup`` for an advanced zone's shared network that offers
    NAT, firewall or load balancing (4.1 ``isNetworkImplemented``)."""
    if network.state == NetworkState.IMPLEMENTED.value:
        return False
    if network.state == NetworkState.SETUP.value:
        return not _is_basic(network) and any(
            s in network_services for s in _SERVICES_NEEDING_IMPLEMENT
        )
    return True


def _is_basic(network: Network) -> bool:
    return network.guru_name == "DirectPodBasedNetworkGuru"


def _orchestrator() -> Any:
    from cumulo.network import orchestrator

    return orchestrator


def lock(session: Session, network_id: int) -> None:
    """Hold the network's row until the caller's transaction ends (``SELECT ... FOR
    UPDATE``; SQLite transactions hold the write lock anyway)."""
    session.execute(select(Network.id).where(Network.id == network_id).with_for_update())


def ensure_resources(session: Session, network_id: int) -> Network:
    """Give the network what it needs before providers implement it — a guest VLAN from
    the physical network (unless it has one), the source-NAT address (isolated network
    with SourceNat, unless it has one) — under the network's row lock, in the caller's
    transaction; no provider is called. Returns the network as it is now.

    :raises InsufficientCapacity: no guest VLAN or no public address left (533).
    :raises AccountLimitExceeded: the owner's public IP limit is reached (532).
    """
    lock(session, network_id)
    network, _ = _load(session, network_id)
    network_services = services(session, network_id)
    if not needs_implementing(network, network_services):
        return network
    if network.state in (NetworkState.IMPLEMENTING.value, NetworkState.SHUTDOWN.value):
        return network  # another job's transition: implement() waits for its outcome
    if network.broadcast_uri is None and network.physical_network_id is not None:
        bits = settings.integer(
            settings.read(session, [settings.GUEST_VLAN_BITS]), settings.GUEST_VLAN_BITS
        )
        tag = vlans.take_vlan(
            session,
            physical_network_id=network.physical_network_id,
            account_id=network.account_id,
            reservation_id=network.uuid,
            vlan_bits=bits,
        )
        session.execute(
            update(Network)
            .where(Network.id == network_id)
            .values(broadcast_uri=f"vlan://{tag}", broadcast_domain_type="Vlan")
            .execution_options(synchronize_session=False)
        )
    if (
        Service.SOURCE_NAT.value in network_services
        and network.guest_type == GuestType.ISOLATED.value
        and source_nat_ip(session, network_id) is None
    ):
        reserve(session, network.account_id, ResourceType.PUBLIC_IP, 1)
        take_public_ip(
            session,
            zone_id=network.data_center_id,
            account_id=network.account_id,
            domain_id=network.domain_id,
            network_id=network_id,
            source_nat=True,
        )
    session.flush()
    network, _ = _load(session, network_id)
    return network


def implement(session: Session, network_id: int, *, wait: float = IMPLEMENT_WAIT) -> bool:
    """Implement the network (module doc) unless it already is; ``True`` if this call
    did it. The orchestrator commits the session's transaction before it calls the
    providers, so ``Implementing`` is seen by others, who wait for the outcome (up to
    ``wait`` seconds, then 534); a provider failure puts the network back in its
    previous state in a transaction of its own (it keeps its VLAN and source-NAT
    address for the next attempt; the garbage collector or ``deleteNetwork`` give them
    back) and is raised.

    :raises InsufficientCapacity: no guest VLAN or no public address left (533).
    :raises AccountLimitExceeded: the owner's public IP limit is reached (532).
    :raises ResourceUnavailable: another server's implementation did not finish in time,
        or a provider is unreachable (534).
    :raises CloudError: a provider failed (530, from the orchestrator).
    """
    deadline = time.monotonic() + wait
    while True:
        network = ensure_resources(session, network_id)
        if not needs_implementing(network, services(session, network_id)):
            return False
        if network.state not in (NetworkState.IMPLEMENTING.value, NetworkState.SHUTDOWN.value):
            break
        # Someone else is implementing or shutting it down: let the outcome be seen.
        session.commit()
        if time.monotonic() > deadline:
            raise ResourceUnavailable(
                f"network {network.uuid} is still being implemented or shut down by another"
                " job; try again"
            )
        time.sleep(POLL)
    previous = network.state
    claimed = _set_state(
        session,
        network_id,
        (NetworkState.ALLOCATED.value, NetworkState.SHUTDOWN.value, NetworkState.SETUP.value),
        NetworkState.IMPLEMENTING.value,
    )
    if not claimed:  # pragma: no cover - the row lock is held since ensure_resources
        raise InternalError(f"network {network.uuid} changed while it was claimed")
    session.flush()
    try:
        _orchestrator().implement(session, network_id)
    except Exception:
        session.rollback()
        _set_state(session, network_id, (NetworkState.IMPLEMENTING.value,), previous)
        session.commit()
        raise
    _set_state(
        session, network_id, (NetworkState.IMPLEMENTING.value,), NetworkState.IMPLEMENTED.value
    )
    session.execute(
        update(OpNetwork)
        .where(OpNetwork.id == network_id)
        .values(idle_since=None)
        .execution_options(synchronize_session=False)
    )
    log.info("network %s implemented (was %s)", network.uuid, previous)
    return True


def _rules_on_ip(session: Session, ip_id: int) -> bool:
    """Whether any rule (firewall, port forwarding, load balancing ...) uses the address."""
    used = select(NetworkRule.id).where(NetworkRule.ip_address_id == ip_id)
    return bool(session.scalar(select(exists(used))))


def _give_back_vlan(
    session: Session, network: Network, offering: NetworkOffering, *, specified: bool = False
) -> bool:
    """Release the network's VLAN to the physical network's free ones: one taken from
    the pool, or (``specified``: the network is deleted) one the admin gave. Whether
    the network lost it (pool VLANs only: a specified VLAN stays the network's)."""
    if not network.broadcast_uri or network.physical_network_id is None:
        return False
    if offering.specify_vlan and not specified:
        return False
    tag = network.broadcast_uri.removeprefix("vlan://")
    if not tag.isdecimal():
        return False
    vlans.release_vlan(session, physical_network_id=network.physical_network_id, vlan=tag)
    return not offering.specify_vlan


def _give_back_source_nat(session: Session, network: Network) -> None:
    held = source_nat_ip(session, network.id)
    if held is None:
        return
    ip_id, address = held
    static_nat = session.scalar(
        select(UserIpAddress.one_to_one_nat).where(UserIpAddress.id == ip_id)
    )
    if static_nat or _rules_on_ip(session, ip_id):
        log.info("network %s keeps source NAT %s: rules use it", network.uuid, address)
        return
    release_public_ips(session, [ip_id])
    release_limit(session, network.account_id, ResourceType.PUBLIC_IP, 1)


def _providers_down(session: Session, network_id: int, method: str) -> None:
    """``Implemented`` → ``Shutdown``, then the providers' ``method`` (the orchestrator
    commits before calling them); a failure puts the network back to ``Implemented``
    in a transaction of its own and is raised (4.1 ``OperationFailed``)."""
    _set_state(session, network_id, (NetworkState.IMPLEMENTED.value,), NetworkState.SHUTDOWN.value)
    session.flush()
    try:
        getattr(_orchestrator(), method)(session, network_id)
    except Exception:
        session.rollback()
        _set_state(
            session, network_id, (NetworkState.SHUTDOWN.value,), NetworkState.IMPLEMENTED.value
        )
        session.commit()
        raise


def shutdown(session: Session, network_id: int) -> bool:
    """Shut the network down (module doc); ``False`` if it was not implemented. The
    caller holds the network's row lock or accepts that it may have changed."""
    network, offering = _load(session, network_id)
    if network.state != NetworkState.IMPLEMENTED.value:
        return False
    _providers_down(session, network_id, "shutdown")
    # Under the row lock again: the providers' call committed, and a start may be
    # waiting for the outcome (it waits while the network is Shutdown).
    lock(session, network_id)
    isolated = network.guest_type == GuestType.ISOLATED.value
    changes: dict[str, object] = {
        # 4.1: a shared network with services goes back to Setup.
        "state": NetworkState.ALLOCATED.value if isolated else NetworkState.SETUP.value
    }
    pool_vlan = not offering.specify_vlan and network.broadcast_uri is not None
    if pool_vlan:
        changes["broadcast_uri"] = None
    done = session.execute(
        update(Network)
        .where(Network.id == network_id, Network.state == NetworkState.SHUTDOWN.value)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]  # pragma: no cover - ours since
        return False
    if pool_vlan:
        _give_back_vlan(session, network, offering)
    if isolated:
        _give_back_source_nat(session, network)
    session.execute(
        update(OpNetwork)
        .where(OpNetwork.id == network_id)
        .values(idle_since=None)
        .execution_options(synchronize_session=False)
    )
    log.info("network %s shut down", network.uuid)
    return True


def user_vms_on(session: Session, network_id: int) -> int:
    """How many user VMs not yet expunged have a NIC on the network (one statement)."""
    count = session.scalar(
        select(func.count(func.distinct(Nic.instance_id)))
        .join(VirtualMachine, VirtualMachine.id == Nic.instance_id)
        .where(
            Nic.network_id == network_id,
            Nic.removed.is_(None),
            VirtualMachine.removed.is_(None),
            VirtualMachine.type == VmType.USER.value,
        )
    )
    return int(count or 0)


def destroy(session: Session, network_id: int) -> Network:
    """Delete the network (module doc); returns it, ``removed`` set.

    :raises InvalidParameterValue: VMs still use it (431 naming ``id``).
    """
    network, offering = _load(session, network_id)
    if _is_basic(network):
        raise InvalidParameterValue(
            f"id: network {network.uuid} is the guest network of a basic zone; it goes with"
            " its zone"
        )
    in_use = user_vms_on(session, network_id)
    if in_use:
        raise InvalidParameterValue(
            f"id: Can't delete network {network.uuid}: {in_use} virtual machine(s) still use"
            " it; destroy and expunge them first"
        )
    for cleanup in list(_CLEANUPS):
        cleanup(session, network_id)
    # Each address's rules go as when the address is released (4.1 cleanupIpResources).
    from cumulo.network.ipam.service import release_rules

    for ip_id in session.scalars(
        select(UserIpAddress.id).where(
            UserIpAddress.associated_with_network_id == network_id,
            UserIpAddress.state != IpState.FREE.value,
        )
    ).all():
        release_rules(session, ip_id)
    rules = session.scalar(
        select(func.count()).select_from(NetworkRule).where(NetworkRule.network_id == network_id)
    )
    if rules:
        # No rules area removed them: refuse rather than leave rules on a gone network.
        raise InvalidParameterValue(
            f"id: network {network.uuid} still has {rules} rule(s); delete them first"
        )
    if network.state == NetworkState.IMPLEMENTED.value:
        _providers_down(session, network_id, "shutdown")
    _orchestrator().destroy(session, network_id)
    held = session.execute(
        select(UserIpAddress.id, UserIpAddress.is_system).where(
            UserIpAddress.associated_with_network_id == network_id,
            UserIpAddress.state != IpState.FREE.value,
        )
    ).all()
    release_public_ips(session, [row.id for row in held])
    counted = sum(1 for row in held if not row.is_system)
    if counted:
        release_limit(session, network.account_id, ResourceType.PUBLIC_IP, counted)
    ranges = select(VlanIpRange.id).where(
        VlanIpRange.network_id == network_id,
        VlanIpRange.vlan_type == VlanType.DIRECT_ATTACHED.value,
    )
    session.execute(delete(UserIpAddress).where(UserIpAddress.vlan_db_id.in_(ranges)))
    session.execute(
        delete(VlanIpRange).where(
            VlanIpRange.network_id == network_id,
            VlanIpRange.vlan_type == VlanType.DIRECT_ATTACHED.value,
        )
    )
    _give_back_vlan(session, network, offering, specified=True)
    session.execute(
        update(Network)
        .where(Network.id == network_id)
        .values(state=NetworkState.DESTROY.value, removed=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not offering.specify_vlan and network.acl_type == AclType.ACCOUNT.value:
        release_limit(session, network.account_id, ResourceType.NETWORK, 1)
    network.removed = utcnow()
    network.state = NetworkState.DESTROY.value
    return network


def restart(session: Session, network_id: int, *, cleanup: bool) -> None:
    """``restartNetwork``: the providers implement the network again (with ``cleanup``,
    after shutting their part down) and every rule is applied again.

    :raises InvalidParameterValue: the network is neither Implemented nor Setup (431).
    """
    network, _ = _load(session, network_id)
    if network.state not in (NetworkState.IMPLEMENTED.value, NetworkState.SETUP.value):
        raise InvalidParameterValue(
            "id: Network is not in the right state to be restarted. Correct states are:"
            " Implemented, Setup"
        )
    orchestrator = _orchestrator()
    if cleanup:
        orchestrator.shutdown(session, network_id)
    orchestrator.implement(session, network_id)
    session.execute(
        update(Network)
        .where(Network.id == network_id)
        .values(restart_required=False)
        .execution_options(synchronize_session=False)
    )
