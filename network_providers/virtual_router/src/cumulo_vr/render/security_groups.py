"""Per-VM security-group chains for the bridge a VM's NIC is plugged into (CAP-22).

Like 4.1's ``security_group.py`` on KVM and XenServer hosts, the rules act on bridged
traffic (``-m physdev --physdev-is-bridged``, which the kernel's ``br_netfilter`` sends
through ``FORWARD``) and find a VM's packets by its MAC (from it) and its address (to
it). For each VM:

- ``sg-<id>-eg`` — traffic *from* the VM: DHCP always; anything not from its own
  address dropped (no spoofing); replies to allowed ingress; DNS always; then, if its
  groups have egress rules, only what they allow, else everything (REQ-SG-06);
- ``sg-<id>-in`` — traffic *to* the VM: DHCP replies; replies to its own allowed
  egress; what the ingress rules allow; everything else dropped (REQ-SG-01, REQ-SG-05).

The network's dispatch chain ``sgnet-<id>`` sends a packet to every VM's egress chain
first (an allowed packet returns and continues), then to every VM's ingress chain, so
VM-to-VM traffic passes the sender's egress *and* the receiver's ingress rules.
Traffic of no managed VM returns to the host's own ``FORWARD`` rules untouched. The
ruleset is applied with ``iptables-restore --noflush`` — only the network's chains are
replaced, atomically, whatever else the host has — and ``FORWARD`` gets one jump to
the dispatch chain. Chain names are hashes of the network's and the VMs' ids, so
several networks can share a host.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cumulo.sdk.network import ProviderRefused, SecurityGroupRule, VmSecurityRules
from cumulo_vr import codec
from cumulo_vr.layout import SG_IPTABLES_RULES, STATE_DIR, ip_key
from cumulo_vr.render.checks import check_cidr, check_ip, check_protocol, check_token
from cumulo_vr.render.iptables import protocol_match

_STATE_DOCUMENT = f"{STATE_DIR}/vms.json"
_NETWORK_DOCUMENT = f"{STATE_DIR}/network.json"


@dataclass(frozen=True)
class SecurityGroupState:
    """The rules of every VM of the network the provider was told about.

    :param network_uuid: the network (names its dispatch chain).
    """

    network_uuid: str = ""
    vms: tuple[VmSecurityRules, ...] = ()

    def canonical(self) -> SecurityGroupState:
        return SecurityGroupState(
            self.network_uuid, tuple(sorted(self.vms, key=lambda vm: vm.vm_uuid))
        )


def _short(value: str) -> str:
    # iptables allows 28 characters per chain name; instance names may be longer.
    return hashlib.sha1(value.encode()).hexdigest()[:10]


def chain_prefix(vm: VmSecurityRules) -> str:
    """``sg-<10 hex digits>``: a VM's chains' stable, short prefix."""
    return "sg-" + _short(vm.vm_uuid)


def dispatch_chain(state: SecurityGroupState) -> str:
    """``sgnet-<10 hex digits>``: the network's dispatch chain."""
    return "sgnet-" + _short(state.network_uuid)


def hook(state: SecurityGroupState, position: str = "") -> str:
    """The ``FORWARD`` rule jumping to the network's dispatch chain (``position``:
    ``" 1"`` to insert it first)."""
    return f"FORWARD{position} -m physdev --physdev-is-bridged -j {dispatch_chain(state)}"


def _rule_lines(chain: str, rule: SecurityGroupRule, peer: str, target: str) -> Iterable[str]:
    check_protocol(rule.protocol, ("tcp", "udp", "icmp", "all"))
    match = protocol_match(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)
    for cidr in sorted({check_cidr(c) for c in rule.cidrs}, key=lambda c: ip_key(c.split("/")[0])):
        where = "" if cidr == "0.0.0.0/0" else f" {peer} {cidr}"
        comment = f"-m comment --comment {check_token(rule.uuid, 'rule id')}"
        yield f"-A {chain}{where}{match} {comment} -j {target}"


def chains_of(state: SecurityGroupState) -> list[str]:
    """Every chain the state's ruleset declares."""
    names = [dispatch_chain(state)]
    for vm in state.canonical().vms:
        names += [f"{chain_prefix(vm)}-eg", f"{chain_prefix(vm)}-in"]
    return names


def render_security_groups(state: SecurityGroupState) -> str:
    """The ``iptables-restore --noflush`` input for every VM of ``state``."""
    vms = state.canonical().vms
    dispatch = dispatch_chain(state)
    out = [
        "# cumulo security groups: rendered from the VMs' rules, do not edit",
        "*filter",
    ]
    out += [f":{name} - [0:0]" for name in chains_of(state)]
    for vm in vms:
        mac = check_token(vm.mac_address.lower(), "MAC address")
        name = check_token(vm.instance_name, "instance name")
        out.append(
            f"-A {dispatch} -m mac --mac-source {mac} -m comment --comment {name} "
            f"-j {chain_prefix(vm)}-eg"
        )
    for vm in vms:
        if not vm.ip_address:
            continue  # no address yet: nothing can be sent to it
        out.append(
            f"-A {dispatch} -d {check_ip(vm.ip_address)}/32 -m comment --comment "
            f"{check_token(vm.instance_name, 'instance name')} -j {chain_prefix(vm)}-in"
        )
    for vm in vms:
        egress_chain, ingress_chain = f"{chain_prefix(vm)}-eg", f"{chain_prefix(vm)}-in"
        egress = [r for r in vm.rules if r.direction.lower() == "egress"]
        ingress = [r for r in vm.rules if r.direction.lower() == "ingress"]
        unknown = [r for r in vm.rules if r.direction.lower() not in ("egress", "ingress")]
        if unknown:
            raise ProviderRefused(f"invalid security group rule direction {unknown[0].direction!r}")
        own = f"! -s {check_ip(vm.ip_address)}/32 " if vm.ip_address else ""
        out += [
            f"-A {egress_chain} -p udp -m udp --sport 68 --dport 67 -j RETURN",
            # Nothing but its own address (or nothing at all before it has one).
            f"-A {egress_chain} {own}-j DROP",
            f"-A {egress_chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
            f"-A {egress_chain} -p udp -m udp --dport 53 -j RETURN",
            f"-A {egress_chain} -p tcp -m tcp --dport 53 -j RETURN",
        ]
        for rule in sorted(egress, key=lambda r: r.uuid):
            out += _rule_lines(egress_chain, rule, "-d", "RETURN")
        out.append(f"-A {egress_chain} -j {'DROP' if egress else 'RETURN'}")
        out += [
            f"-A {ingress_chain} -p udp -m udp --sport 67 --dport 68 -j ACCEPT",
            f"-A {ingress_chain} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        ]
        for rule in sorted(ingress, key=lambda r: r.uuid):
            out += _rule_lines(ingress_chain, rule, "-s", "ACCEPT")
        out.append(f"-A {ingress_chain} -j DROP")
    out.append("COMMIT")
    return "\n".join(out) + "\n"


class SecurityGroupRenderer:
    """The security-group provider's :class:`~cumulo_vr.configurator.Renderer`."""

    def decode(self, documents: Mapping[str, bytes]) -> SecurityGroupState:
        vms = codec.loads(tuple[VmSecurityRules, ...], documents.get(_STATE_DOCUMENT), ())
        network = documents.get(_NETWORK_DOCUMENT, b"").decode().strip()
        return SecurityGroupState(network, vms)

    def changed_parts(
        self, old: SecurityGroupState, new: SecurityGroupState
    ) -> frozenset[str] | None:
        return None  # one ruleset: always rendered whole

    def render(
        self, state: SecurityGroupState, base: str, parts: frozenset[str] | None = None
    ) -> dict[str, bytes]:
        canonical = state.canonical()
        return {
            SG_IPTABLES_RULES: render_security_groups(canonical).encode(),
            _STATE_DOCUMENT: codec.dumps(canonical.vms),
            _NETWORK_DOCUMENT: f"{canonical.network_uuid}\n".encode(),
        }

    def validate(self, writes: Mapping[str, bytes]) -> str:
        if SG_IPTABLES_RULES not in writes:
            return ""
        return (
            f'iptables-restore -w --noflush --test <"$STAGE"/{SG_IPTABLES_RULES} >&2 || '
            "{ echo 'iptables-restore refused the security group rules' >&2; exit 65; }"
        )

    def activate(
        self,
        old: SecurityGroupState | None,
        new: SecurityGroupState,
        changed: set[str],
        removed: set[str],
    ) -> str:
        if old is not None and SG_IPTABLES_RULES not in changed:
            return ""
        lines = [
            f'iptables-restore -w --noflush <"$BASE"/{SG_IPTABLES_RULES} || '
            "{ echo 'iptables-restore refused the security group rules' >&2; exit 1; }",
            f"iptables -w -C {hook(new)} 2>/dev/null || iptables -w -I {hook(new, ' 1')}",
        ]
        # Chains of VMs that are gone: unreferenced since the restore, now deleted.
        gone = sorted(set(chains_of(old)) - set(chains_of(new))) if old is not None else []
        lines += [
            f"{{ iptables -w -F {shlex.quote(c)} && iptables -w -X {shlex.quote(c)}; }} "
            "2>/dev/null || true"
            for c in gone
        ]
        return "\n".join(lines)

    def stop(self, state: SecurityGroupState) -> str:
        """Remove the network's hook and chains (and only those)."""
        lines = [f"iptables -w -D {hook(state)} 2>/dev/null || true"]
        lines += [f"iptables -w -F {c} 2>/dev/null || true" for c in chains_of(state)]
        lines += [f"iptables -w -X {c} 2>/dev/null || true" for c in chains_of(state)]
        return "\n".join(lines)
