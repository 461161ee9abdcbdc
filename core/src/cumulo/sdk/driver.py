"""The base every named driver derives from.

Drivers are chosen by name from data or configuration and loaded through stevedore from
one of the groups in ``cumulo.drivers.DRIVER_GROUPS``. The kind-specific contracts
(hypervisor, network provider, storage, planner, allocator, authenticator) grow in
sibling modules and all derive from :class:`Driver`.
"""

from __future__ import annotations

from typing import ClassVar


class Driver:
    """A named, loadable implementation of one contract.

    :cvar name: the user-visible name (``KVM``, ``VirtualRouter``, ``NFS``); equal to the
        entry-point name it is registered under.
    :cvar provides: what the driver offers, shown by ``cumulo plugins list``
        (e.g. ``("hypervisor:KVM",)``); defaults to ``"<group>:<name>"``.
    """

    name: ClassVar[str] = ""
    provides: ClassVar[tuple[str, ...]] = ()
