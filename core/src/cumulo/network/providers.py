"""The network service providers of this process, by their 4.1 name.

A provider (``VirtualRouter``, ``SecurityGroupProvider``, ``JuniperSRX`` ...) is a
:class:`cumulo.sdk.network.NetworkProvider` registered under the entry-point group
``cumulo.network_providers``; it is loaded the first time a network offering names it
(:func:`cumulo.drivers.load_drivers`, so only providers in use are imported) and
instantiated once per class and process, as the contract promises providers.

A name nobody installed is :class:`~cumulo.sdk.errors.ResourceUnavailable` (534)
naming the provider: a network whose offering names it cannot be served here.
"""

from __future__ import annotations

import threading

from cumulo.drivers import DriverLoadError, load_drivers
from cumulo.sdk.errors import ResourceUnavailable
from cumulo.sdk.network import NetworkProvider

GROUP = "cumulo.network_providers"

_instances: dict[type[NetworkProvider], NetworkProvider] = {}
_lock = threading.Lock()


def provider(name: str) -> NetworkProvider:
    """The process's instance of provider ``name``.

    Loaded through its entry point on each call (cheap: stevedore finds the class in the
    already imported module), instantiated once per class; a class registered for a
    test only (:func:`cumulo.testing.fakes.registered_drivers`) is therefore found
    while it is registered and never afterwards.

    :raises ResourceUnavailable: no installed provider has that name, it cannot be
        imported, or it is not a :class:`NetworkProvider` (534, naming it).
    """
    try:
        cls = load_drivers(GROUP, [name], where="a network offering")[name]
    except DriverLoadError as exc:
        raise ResourceUnavailable(
            f"network service provider {name} is not available: {exc.reason}"
        ) from exc
    if not issubclass(cls, NetworkProvider):
        raise ResourceUnavailable(
            f"network service provider {name} is not available: {cls.__module__}."
            f"{cls.__qualname__} is not a cumulo.sdk.network.NetworkProvider"
        )
    with _lock:
        instance = _instances.get(cls)
        if instance is None:
            instance = _instances[cls] = cls()
    return instance
