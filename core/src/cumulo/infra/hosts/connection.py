"""Reaching hosts through their hypervisor drivers, loaded by hypervisor type.

The driver of a host is the ``cumulo.hypervisors`` entry point named like its
hypervisor type (``KVM``, ``XenServer``, ``Simulator``). Drivers are instantiated once
per process (the contract in :mod:`cumulo.sdk.hypervisor` promises they are
thread-safe and keep no state another process would need), so the instance is cached
by class; a test that registers a fake with ``cumulo.testing.fakes.registered_drivers``
gets its own class and therefore its own instance.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from cumulo import crypto, crypto_cache
from cumulo.crypto import CryptoError, unwrap_enc
from cumulo.drivers import DriverLoadError, load_drivers
from cumulo.infra.hosts.models import Host
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.hypervisor import HostConnection, HostRef, HypervisorDriver

GROUP = "cumulo.hypervisors"

_INSTANCES: dict[type, HypervisorDriver] = {}
_LOCK = threading.Lock()


def driver_for(hypervisor: str, param: str = "hypervisor") -> HypervisorDriver:
    """The process's driver instance for ``hypervisor``.

    :raises InvalidParameterValue: no installed driver provides it (431 naming
        ``param``): adding a host of a hypervisor nobody can talk to is the caller's
        mistake, not a server failure.
    """
    try:
        cls = load_drivers(GROUP, [hypervisor], where=f"parameter {param}")[hypervisor]
    except DriverLoadError as exc:
        raise InvalidParameterValue(
            f"Invalid parameter {param} value={hypervisor}: {exc.reason}"
        ) from exc
    if not issubclass(cls, HypervisorDriver):
        raise InvalidParameterValue(
            f"Invalid parameter {param} value={hypervisor}: the driver is not a hypervisor driver"
        )
    with _LOCK:
        instance = _INSTANCES.get(cls)
        if instance is None:
            instance = _INSTANCES[cls] = cls()
    return instance


def conceal(value: str, database_key: str, algorithm: str) -> str:
    """``value`` as stored: ``ENC(...)`` under the database key, or as it is when the
    deployment encrypts nothing (``db.cloud.encryption.type=none``, no key)."""
    if not database_key:
        return value
    return crypto.wrap_enc(crypto.encrypt(value, database_key, algorithm))


def reveal(value: str | None, database_key: str, algorithm: str) -> str:
    """A detail stored as ``ENC(...)`` in plain text ('' when absent or unreadable)."""
    if value is None:
        return ""
    inner = unwrap_enc(value)
    if inner is None:
        return value
    try:
        return crypto_cache.decrypt(inner, database_key, algorithm)
    except CryptoError:
        return ""


def host_ref(host: Host, details: Mapping[str, str], database_key: str, algorithm: str) -> HostRef:
    """How a driver names ``host`` (its guid and how it was reached), credentials
    included: for reconnecting and for operations that open a vendor session."""
    connection = HostConnection(
        url=host.url or "",
        username=details.get("username", ""),
        password=reveal(details.get("password"), database_key, algorithm),
        zone_id=host.data_center_id,
        pod_id=host.pod_id,
        cluster_id=host.cluster_id,
    )
    return HostRef(guid=host.guid or "", connection=connection, host_id=host.id)


def ping_ref(host_id: int, guid: str, url: str, cluster_id: int | None) -> HostRef:
    """How the heartbeat names a host: guid and URL, no credentials.

    Pings of thousands of hosts every ``ping.interval`` must not decrypt thousands of
    passwords; a driver pings over the session :meth:`connect` opened (or an
    unauthenticated probe), and reports :class:`~cumulo.sdk.hypervisor.HostUnreachable`
    if it has none, which sends the host through Alert to an operator's reconnect.
    """
    return HostRef(
        guid=guid, connection=HostConnection(url=url, cluster_id=cluster_id), host_id=host_id
    )
