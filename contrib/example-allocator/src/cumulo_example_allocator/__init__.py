"""An example third-party host weigher for cumulo: prefer hosts whose name matches a
pattern (``example.preferred.hosts``, shell-style, e.g. ``rack2-*``) — say, the racks
with the newest hardware, or the ones on the better power feed.

It imports :mod:`cumulo.sdk` only, and is found through its entry point like the
standard allocators. To use it, name it in ``host.allocators.order`` before the weigher
whose ties it should break::

    cumulo config set host.allocators.order \\
        AvoidList,HostState,Dedicated,Hypervisor,HostTags,HaHosts,HostCapacity,HaPreferred,PreferNamedHosts,FirstFit
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import ClassVar

from cumulo.sdk import AllocationContext, CandidateHost, HostWeigher

SETTING = "example.preferred.hosts"

__all__ = ["SETTING", "PreferNamedHosts"]


class PreferNamedHosts(HostWeigher):
    """Weight 1 for a host whose name matches one of the comma-separated patterns of
    ``example.preferred.hosts``, 0 otherwise (all 0 when the setting is unset)."""

    name: ClassVar[str] = "PreferNamedHosts"
    settings_keys: ClassVar[tuple[str, ...]] = (SETTING,)

    def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> Sequence[float]:
        patterns = [p.strip() for p in (ctx.setting(SETTING) or "").split(",") if p.strip()]
        return [
            1.0 if any(fnmatch.fnmatchcase(host.name, p) for p in patterns) else 0.0
            for host in hosts
        ]
