"""Which bridge each NIC of a VM plugs into (REQ-KVM-02, REQ-KVM-05).

A NIC's traffic type (``Guest``, ``Public``, ``Management``, ``Control``, ``Storage``)
and the zone's traffic label for it (the physical network's ``kvmnetworklabel``) name
the bridge; without a label the host's defaults apply (``guest.network.device``,
``public.network.device``, ``private.network.device``: ``cloudbr1``/``cloudbr0``).

VLANs (``broadcast_uri`` ``vlan://<tag>``): on Open vSwitch the NIC is a port of the
labelled bridge tagged with the VLAN; on native Linux bridges libvirt cannot tag a
port, so the NIC plugs into the VLAN's own bridge, named as 4.1's KVM agent named it
(``cloudVirBr<tag>``) and prepared on the host like ``cloudbr0``/``cloudbr1`` (the
agentless driver runs no script on the host). ``vlan://untagged`` or no URI: the
labelled bridge itself.
"""

from __future__ import annotations

from cumulo.sdk import NicSpec, OperationFailed
from cumulo_kvm.domain_xml import NicPlan
from cumulo_kvm.hosturl import HostOptions

VLAN_BRIDGE_PREFIX = "cloudVirBr"
MAX_VLAN = 4094


def vlan_of(broadcast_uri: str) -> int | None:
    """The VLAN tag of ``vlan://<tag>``; ``None`` for untagged or no URI.

    :raises OperationFailed: another scheme, or a tag outside 1-4094.
    """
    uri = broadcast_uri.strip()
    if not uri:
        return None
    scheme, _, rest = uri.partition("://")
    if scheme.lower() != "vlan":
        raise OperationFailed(f"broadcast URI {uri!r} is not supported on KVM hosts (vlan://)")
    if rest.lower() == "untagged":
        return None
    if not rest.isdigit() or not 1 <= int(rest) <= MAX_VLAN:
        raise OperationFailed(f"broadcast URI {uri!r}: the VLAN must be 1-{MAX_VLAN}")
    return int(rest)


def traffic_bridge(nic: NicSpec, options: HostOptions) -> str:
    """The bridge of the NIC's traffic: its label, else the host's default for it."""
    # Labels and traffic types reach NicSpec with the networking work; until then every
    # NIC of a user VM is a guest NIC without a label.
    label = str(getattr(nic, "network_label", "") or "").strip()
    if label:
        return label
    traffic = str(getattr(nic, "traffic_type", "") or "Guest")
    if traffic == "Public":
        return options.public_bridge
    if traffic == "Guest":
        return options.guest_bridge
    return options.private_bridge


def nic_plans(nics: tuple[NicSpec, ...], options: HostOptions) -> tuple[NicPlan, ...]:
    """The NICs in device order, each on its bridge (module doc)."""
    plans = []
    for nic in sorted(nics, key=lambda n: n.device_id):
        vlan = vlan_of(nic.broadcast_uri)
        bridge = traffic_bridge(nic, options)
        if vlan is not None and not options.openvswitch:
            bridge = f"{VLAN_BRIDGE_PREFIX}{vlan}"
        plans.append(
            NicPlan(
                mac=nic.mac_address,
                bridge=bridge,
                vlan=vlan if options.openvswitch else None,
                openvswitch=options.openvswitch,
            )
        )
    return tuple(plans)
