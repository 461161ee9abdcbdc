"""Reaching storage through its driver (:mod:`cumulo.sdk.storage`), with the driver's
errors turned into API errors.

A primary pool is used by the hypervisor of its cluster, so its driver is the
``cumulo.storage`` driver named like that hypervisor (``Simulator``, ``KVM`` ...). NFS
secondary storage is mounted by the zone's hosts (4.1's secondary storage VM runs on
one), so it is reached through the driver of a hypervisor the zone's clusters run.
One instance per driver class and process, as the contract says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from cumulo.drivers import DriverLoadError, load_drivers
from cumulo.sdk.driver import Driver
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.storage import (
    InvalidStorageUrl,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageCapacity,
    StorageError,
    StorageUnreachable,
)

GROUP = "cumulo.storage"
_INSTANCES: dict[type[Driver], Driver] = {}

_Kind = TypeVar("_Kind", PrimaryStorageDriver, SecondaryStorageDriver)


def _instance(cls: type[Driver]) -> Driver:
    found = _INSTANCES.get(cls)
    if found is None:
        found = _INSTANCES[cls] = cls()
    return found


def _driver(names: Iterable[str], kind: type[_Kind], purpose: str) -> _Kind:
    tried = []
    for name in dict.fromkeys(names):
        tried.append(name)
        try:
            loaded = load_drivers(GROUP, [name], where=purpose)
        except DriverLoadError:
            continue
        driver = _instance(loaded[name])
        if isinstance(driver, kind):
            return driver
    which = ", ".join(tried) if tried else "none"
    raise ResourceUnavailable(
        f"no installed storage driver can reach {purpose} (hypervisors tried: {which})"
    )


def primary_driver(hypervisor_type: str) -> PrimaryStorageDriver:
    """The primary storage driver of a cluster's hypervisor.

    :raises ResourceUnavailable: none is installed for it (534).
    """
    return _driver([hypervisor_type], PrimaryStorageDriver, f"{hypervisor_type} primary storage")


def secondary_driver(hypervisor_types: Iterable[str]) -> SecondaryStorageDriver:
    """The first secondary storage driver among the zone's hypervisors.

    :raises ResourceUnavailable: the zone has no cluster, or none has a driver (534).
    """
    return _driver(hypervisor_types, SecondaryStorageDriver, "secondary storage")


def reach(operation: Callable[[], StorageCapacity], what: str) -> StorageCapacity:
    """Run a driver call that returns capacity, mapping the driver's errors.

    :raises InvalidParameterValue: the driver refused the URL (431 naming ``url``).
    :raises ResourceUnavailable: the storage did not answer or refused (534).
    """
    try:
        return operation()
    except InvalidStorageUrl as exc:
        raise InvalidParameterValue(f"url: {exc}") from exc
    except StorageUnreachable as exc:
        raise ResourceUnavailable(f"{what} did not answer: {exc}") from exc
    except StorageError as exc:
        raise ResourceUnavailable(f"{what} refused: {exc}") from exc
