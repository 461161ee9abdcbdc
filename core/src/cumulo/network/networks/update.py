"""``updateNetwork``: name, display text, network domain, and changing the network's
offering as the seed describes (REQ-GN-11 … REQ-GN-14, REQ-PN-06/07) with 4.1's rules
(``NetworkServiceImpl.updateGuestNetwork``/``canUpgrade``):

- only an ``Isolated`` network changes offering, to an enabled ``Isolated`` ``Guest``
  offering with the same ``specifyvlan``, ``specifyipranges``, tags and security-group
  service;
- moving between a virtual-router offering and one whose firewall is an external
  device changes how the guest CIDR is chosen: ``changecidr=true`` must say so
  (REQ-GN-13), and every VM of the network must be stopped first (REQ-GN-12);
- a new network domain needs a DNS service;
- the network's elements are shut down and implemented again with the new offering
  (4.1 restarts the network), so its rules are applied by the new providers; a
  persistent offering implements an idle network at once (REQ-PN-06), a non-persistent
  one lets the garbage collector take an idle one (REQ-PN-07).
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine, VmState, VmType
from cumulo.network.networks import lifecycle
from cumulo.network.networks.creation import check_domain_name, external_firewall
from cumulo.network.networks.models import (
    GuestType,
    Network,
    NetworkServiceMap,
    NetworkState,
    OpNetwork,
)
from cumulo.network.networks.offering import services_of
from cumulo.network.offerings.models import NetworkOffering, OfferingState
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

_STOPPED = (VmState.STOPPED.value, VmState.DESTROYED.value, VmState.ERROR.value)


def running_vms(session: Session, network_id: int) -> int:
    """User VMs of the network that are not stopped (one statement)."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Nic.instance_id)))
            .join(VirtualMachine, VirtualMachine.id == Nic.instance_id)
            .where(
                Nic.network_id == network_id,
                Nic.removed.is_(None),
                VirtualMachine.type == VmType.USER.value,
                VirtualMachine.state.not_in(_STOPPED),
            )
        )
        or 0
    )


def _tags(offering: NetworkOffering) -> set[str]:
    return {t.strip() for t in (offering.tags or "").split(",") if t.strip()}


def check_upgrade(
    session: Session,
    network: Network,
    old: NetworkOffering,
    new: NetworkOffering,
    *,
    change_cidr: bool,
) -> dict[str, str | None]:
    """The new offering's services, if the network may move to it (module doc).

    :raises InvalidParameterValue: it may not (431 naming the parameter).
    """
    if new.state != OfferingState.ENABLED.value or new.removed is not None:
        raise InvalidParameterValue(
            "networkofferingid: Network offering with specified id is not in Enabled state"
        )
    if old.guest_type != GuestType.ISOLATED.value:
        raise InvalidParameterValue(
            "networkofferingid: NetworkOfferingId can be upgraded only for the network of type"
            " Isolated"
        )
    if new.guest_type != old.guest_type or new.traffic_type != old.traffic_type:
        raise InvalidParameterValue(
            "networkofferingid: Network offerings should be the same type and traffic type"
        )
    if new.specify_vlan != old.specify_vlan:
        raise InvalidParameterValue(
            "networkofferingid: Network offerings should have the same specifyVlan"
        )
    if new.specify_ip_ranges != old.specify_ip_ranges:
        raise InvalidParameterValue(
            "networkofferingid: Network offerings should have the same specifyIpRanges"
        )
    if _tags(new) != _tags(old):
        raise InvalidParameterValue(
            "networkofferingid: Network offerings should have the same tags"
        )
    old_services = services_of(session, old.id)
    new_services = services_of(session, new.id)
    sg = Service.SECURITY_GROUP.value
    if (sg in old_services) != (sg in new_services):
        raise InvalidParameterValue(
            "networkofferingid: Offerings should have the same security group service"
        )
    if external_firewall(old_services) != external_firewall(new_services):
        if not change_cidr:
            raise InvalidParameterValue(
                "changecidr: the new offering's firewall provider chooses guest CIDRs"
                " differently; pass changecidr=true to accept the change"
            )
        running = running_vms(session, network.id)
        if running:
            raise InvalidParameterValue(
                f"networkofferingid: stop the {running} running virtual machine(s) of network"
                f" {network.uuid} first: its services move to other devices (REQ-GN-12)"
            )
    return new_services


def change_offering(
    session: Session,
    network: Network,
    new: NetworkOffering,
    new_services: dict[str, str | None],
) -> None:
    """Move the network to ``new`` (already checked): its providers shut down, the
    service map replaced, implemented again by the new providers if it was running."""
    was_implemented = network.state == NetworkState.IMPLEMENTED.value
    from cumulo.network import orchestrator

    if was_implemented:
        orchestrator.shutdown(session, network.id)
    session.execute(delete(NetworkServiceMap).where(NetworkServiceMap.network_id == network.id))
    if new_services:
        session.execute(
            insert(NetworkServiceMap),
            [
                {"network_id": network.id, "service": service, "provider": provider}
                for service, provider in new_services.items()
            ],
        )
    session.execute(
        update(Network)
        .where(Network.id == network.id)
        .values(network_offering_id=new.id, restart_required=False)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OpNetwork)
        .where(OpNetwork.id == network.id)
        .values(gc=not new.is_persistent, idle_since=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    if was_implemented:
        orchestrator.implement(session, network.id)
    elif new.is_persistent:
        lifecycle.implement(session, network.id)


def change_network_domain(session: Session, network: Network, value: str) -> None:
    """A new DNS suffix; the network's DHCP must hand it out, so a running network is
    implemented again (4.1 restarts it)."""
    if Service.DNS.value not in lifecycle.services(session, network.id):
        raise InvalidParameterValue(
            "networkdomain: Domain name change is not supported by the network offering"
        )
    check_domain_name(value)
    session.execute(
        update(Network)
        .where(Network.id == network.id)
        .values(network_domain=value)
        .execution_options(synchronize_session=False)
    )
    if network.state == NetworkState.IMPLEMENTED.value:
        from cumulo.network import orchestrator

        session.flush()
        orchestrator.implement(session, network.id)
