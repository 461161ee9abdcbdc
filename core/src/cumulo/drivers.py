"""Named drivers, loaded through stevedore from one entry-point group per kind.

A driver is chosen by a name found in data or configuration: the hypervisor type of a
cluster (``KVM``), the provider of a service in a network offering (``VirtualRouter``),
a storage protocol (``NFS``), a planner or an allocator named in global configuration.
Only the names that are enabled are imported; an enabled name that cannot be loaded
stops start-up with :class:`DriverLoadError`, because running on without a driver the
operator asked for would fail later, less clearly, in the middle of a deployment.

Entry-point names are the user-visible driver names (``KVM = "cumulo_kvm:KvmHypervisor"``
under ``[project.entry-points."cumulo.hypervisors"]``); groups are an implementation
detail the operator never types.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stevedore import ExtensionManager, NamedExtensionManager

from cumulo.plugins import describe_error
from cumulo.sdk import Driver

DRIVER_GROUPS: tuple[str, ...] = (
    "cumulo.hypervisors",
    "cumulo.network_providers",
    "cumulo.storage",
    "cumulo.planners",
    "cumulo.allocators",
    "cumulo.authenticators",
)


class DriverLoadError(Exception):
    """An enabled driver cannot be used; the message is one line an operator can act on.

    :ivar group: the entry-point group (``cumulo.hypervisors``).
    :ivar name: the driver name that was enabled.
    :ivar reason: why it cannot be loaded.
    """

    def __init__(self, group: str, name: str, where: str, reason: str) -> None:
        super().__init__(f"cannot load {group} driver '{name}' (enabled in {where}): {reason}")
        self.group = group
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class DriverRecord:
    """One driver entry point as ``cumulo plugins list`` shows it.

    :param group: its entry-point group.
    :param name: its entry-point name (the driver name).
    :param distribution: the distribution declaring it (``None`` if unknown).
    :param version: that distribution's version.
    :param provides: the driver's ``provides``, or ``("<group>:<name>",)``.
    :param error: why importing it failed, on one line (``None``: it loads).
    """

    group: str
    name: str
    distribution: str | None
    version: str | None
    provides: tuple[str, ...]
    error: str | None = None


def load_drivers(
    group: str, enabled: Iterable[str], *, where: str = "configuration"
) -> dict[str, type[Driver]]:
    """Import the enabled drivers of one group, and nothing else.

    :param group: one of :data:`DRIVER_GROUPS`.
    :param enabled: driver names, in the order the caller wants them (duplicates are
        ignored).
    :param where: where the names came from, for the error message (e.g.
        ``"global setting 'hypervisor.list'"``).
    :return: driver classes by name, in the order of ``enabled``.
    :raises DriverLoadError: an enabled name has no entry point, has more than one, fails
        to import, or is not a :class:`cumulo.sdk.Driver` subclass. When several fail,
        the message covers the first one in ``enabled``.
    :raises ValueError: ``group`` is not a driver group (a programming error).
    """
    if group not in DRIVER_GROUPS:
        raise ValueError(f"{group!r} is not a driver group; expected one of {DRIVER_GROUPS}")
    names = list(dict.fromkeys(enabled))
    if not names:
        return {}
    failures: dict[str, BaseException] = {}

    def on_load_failure(
        _manager: ExtensionManager[Any],
        entry_point: importlib.metadata.EntryPoint,
        exc: BaseException,
    ) -> None:
        failures.setdefault(entry_point.name, exc)

    manager = _named_manager(group, names, on_load_failure)
    found: dict[str, list[Any]] = {}
    for extension in manager.extensions:
        found.setdefault(extension.name, []).append(extension)
    drivers: dict[str, type[Driver]] = {}
    for name in names:
        if name in failures:
            raise DriverLoadError(group, name, where, describe_error(failures[name]))
        extensions = found.get(name, [])
        if not extensions:
            raise DriverLoadError(group, name, where, _missing_reason(group, manager))
        if len(extensions) > 1:
            targets = ", ".join(sorted(ext.entry_point_target for ext in extensions))
            raise DriverLoadError(
                group, name, where, f"more than one installed distribution provides it ({targets})"
            )
        plugin = extensions[0].plugin
        if not (isinstance(plugin, type) and issubclass(plugin, Driver)):
            raise DriverLoadError(
                group,
                name,
                where,
                f"{extensions[0].entry_point_target} is not a subclass of cumulo.sdk.Driver",
            )
        drivers[name] = plugin
    return drivers


def list_drivers() -> list[DriverRecord]:
    """Every driver entry point of every group, imported to find out whether it loads.

    Meant for ``cumulo plugins list``: importing drivers nobody enabled is acceptable
    for an operator command, never at start-up. Never raises because of a driver.

    :return: records ordered by group (as in :data:`DRIVER_GROUPS`), then name.
    """
    records = []
    for group in DRIVER_GROUPS:
        entry_points = importlib.metadata.entry_points(group=group)
        for entry_point in sorted(entry_points, key=lambda ep: ep.name):
            records.append(_describe(group, entry_point))
    return records


def _named_manager(
    group: str, names: Sequence[str], on_load_failure: Any
) -> NamedExtensionManager[Any]:
    """The stevedore manager for ``names``; ``cumulo.testing.fakes`` substitutes it."""
    return NamedExtensionManager(
        group,
        names,
        # Not name_order: that resolves duplicate names silently; load_drivers orders
        # the result itself and refuses duplicates.
        on_load_failure_callback=on_load_failure,
        # Missing names are reported by load_drivers itself, as an error, not a log line.
        on_missing_entrypoints_callback=None,
    )


def _missing_reason(group: str, manager: ExtensionManager[Any]) -> str:
    available = sorted({ep.name for ep in manager.list_entry_points()})
    installed = ", ".join(available) if available else "none"
    return f"no installed distribution provides it (installed {group} drivers: {installed})"


def _describe(group: str, entry_point: importlib.metadata.EntryPoint) -> DriverRecord:
    dist = entry_point.dist
    distribution, version = (dist.name, dist.version) if dist is not None else (None, None)
    default_provides = (f"{group}:{entry_point.name}",)
    try:
        plugin = entry_point.load()
    except Exception as exc:
        return DriverRecord(
            group, entry_point.name, distribution, version, default_provides, describe_error(exc)
        )
    if not (isinstance(plugin, type) and issubclass(plugin, Driver)):
        return DriverRecord(
            group,
            entry_point.name,
            distribution,
            version,
            default_provides,
            f"{entry_point.value} is not a subclass of cumulo.sdk.Driver",
        )
    provides = tuple(plugin.provides) or default_provides
    return DriverRecord(group, entry_point.name, distribution, version, provides)
