"""The rules' API commands, contributed as a built-in plugin (``cumulo.network.rules.
commands`` in ``BUILTIN_PLUGINS``): firewall and egress firewall, port forwarding,
static NAT and IP forwarding, load balancing and stickiness (CAP-26, CAP-27, CAP-28).

Importing this module registers the rule sets of the Firewall, PortForwarding,
StaticNat and Lb services with the orchestrator (:mod:`cumulo.network.rules.rulesets`),
and the removal of an address's rules with the IPAM's release of addresses
(:mod:`cumulo.network.rules.release`).
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.network.ipam.service import register_release
from cumulo.network.rules import firewall_commands, lb_commands, nat_commands, release, rulesets
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = (
    *firewall_commands.COMMANDS,
    *nat_commands.COMMANDS,
    *lb_commands.COMMANDS,
)
"""Every rule command cumulo implements."""

RULE_SETS = rulesets
"""The module whose import registered the rule sets (kept referenced)."""

register_release(release.release_ip)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The rule commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
