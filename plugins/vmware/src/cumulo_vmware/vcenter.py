"""Reaching vCenter: the cluster and host URLs, one session per (vCenter, user) per
process, finding inventory objects, and waiting for tasks with vSphere faults turned
into the contract's errors.

URLs (what ``addCluster`` is given, and what each discovered host is stored under):

- a cluster: ``https://<vcenter>[:port]/<datacenter>/<cluster>`` (4.1's form; ``http://``
  is accepted and still means the vCenter SDK over HTTPS, as in 4.1);
- one of its ESXi hosts: ``https://<vcenter>[:port]/<datacenter>/<cluster>/<host MOR>``
  (the managed-object id, e.g. ``host-34``: stable across renames, unlike the name).

Sessions: the core gives the vCenter password to ``connect`` and to operations, but not
to pings or to storage drivers (it does not decrypt thousands of passwords every ping
interval). A session opened with a password is therefore kept for the process, keyed by
vCenter and user, and reused by password-less calls; a password-less call in a process
that never logged in raises :class:`HostUnreachable` (pings) or the storage equivalent.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from cumulo.sdk import (
    HostConnection,
    HostUnreachable,
    InsufficientHostCapacity,
    InvalidHostCredentials,
    OperationFailed,
)
from cumulo_vmware.vmomi import Disconnect, SmartConnect, SoapStubAdapter, vim, vmodl

DEFAULT_PORT = 443
CONNECT_TIMEOUT = 30.0
TASK_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ClusterUrl:
    """A parsed cluster or host URL.

    :param server: vCenter host name or address.
    :param port: its HTTPS port.
    :param datacenter: the datacenter's name.
    :param cluster: the cluster's name.
    :param host_mor: the ESXi host's managed-object id (host URLs only).
    """

    server: str
    port: int
    datacenter: str
    cluster: str
    host_mor: str = ""

    @property
    def netloc(self) -> str:
        return self.server if self.port == DEFAULT_PORT else f"{self.server}:{self.port}"

    @property
    def cluster_url(self) -> str:
        return f"https://{self.netloc}/{self.datacenter}/{self.cluster}"

    def host_url(self, host_mor: str) -> str:
        return f"{self.cluster_url}/{host_mor}"


def parse_url(url: str, *, host: bool) -> ClusterUrl:
    """Split a cluster URL (``host=False``) or a host URL (``host=True``).

    :raises OperationFailed: the URL does not have that form (the message shows it).
    """
    parts = urlsplit(url.strip())
    segments = [unquote(s) for s in parts.path.split("/") if s]
    wanted = 3 if host else 2
    form = "/<datacenter>/<cluster>" + ("/<host MOR>" if host else "")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port < 0:
        raise OperationFailed(f"{url} is not a vCenter URL: expected https://<vcenter>{form}")
    if len(segments) != wanted:
        raise OperationFailed(f"{url} does not name a vCenter cluster: expected {form}")
    return ClusterUrl(parts.hostname, port, *segments)


# ---- sessions ------------------------------------------------------------------------


@dataclass
class _Session:
    instance: Any  # vim.ServiceInstance
    password_check: str


_SESSIONS: dict[tuple[str, int, str], _Session] = {}
_LOCK = threading.Lock()


def _fingerprint(password: str) -> str:
    # Only to notice a changed password; never stored outside this process's memory.
    return hashlib.sha256(password.encode()).hexdigest()


def _login(where: ClusterUrl, username: str, password: str) -> Any:
    try:
        return SmartConnect(
            host=where.server,
            port=where.port,
            user=username,
            pwd=password,
            disableSslCertValidation=True,
            httpConnectionTimeout=int(CONNECT_TIMEOUT),
        )
    except vim.fault.InvalidLogin as exc:
        raise InvalidHostCredentials(
            f"vCenter {where.netloc} refused the login of {username!r}: {exc.msg}"
        ) from exc
    except vmodl.MethodFault as exc:
        raise OperationFailed(f"vCenter {where.netloc} refused the login: {exc.msg}") from exc
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise HostUnreachable(f"vCenter {where.netloc} does not answer: {exc}") from exc


def service_instance(where: ClusterUrl, connection: HostConnection) -> Any:
    """The process's session with the vCenter of ``where`` as ``connection.username``.

    With a password: reuse the cached session when it was opened with the same
    password, else log in. Without: the cached session, or :class:`HostUnreachable`.
    """
    key = (where.server, where.port, connection.username)
    with _LOCK:
        cached = _SESSIONS.get(key)
    if not connection.password:
        if cached is None:
            raise HostUnreachable(
                f"no session with vCenter {where.netloc} in this process yet (it opens at the"
                " next operation with credentials, e.g. reconnectHost)"
            )
        return cached.instance
    check = _fingerprint(connection.password)
    if cached is not None and cached.password_check == check:
        return cached.instance
    instance = _login(where, connection.username, connection.password)
    with _LOCK:
        _SESSIONS[key] = _Session(instance, check)
    return instance


def probe(where: ClusterUrl, timeout: float) -> None:
    """Ask vCenter for its service content without logging in (cheap, no password).

    :raises HostUnreachable: nothing answered within ``timeout``.
    """
    stub = SoapStubAdapter(
        host=where.server,
        port=where.port,
        sslContext=ssl._create_unverified_context(),
        httpConnectionTimeout=int(max(1, timeout)),
    )
    try:
        vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
    except (OSError, http.client.HTTPException, vmodl.MethodFault) as exc:
        raise HostUnreachable(f"vCenter {where.netloc} does not answer: {exc}") from exc


def forget_session(where: ClusterUrl, username: str) -> None:
    """Drop (and log out) the cached session, e.g. after vCenter said it expired."""
    with _LOCK:
        cached = _SESSIONS.pop((where.server, where.port, username), None)
    if cached is not None:
        # Logging out of a dead session may fail; harmless.
        with contextlib.suppress(Exception):
            Disconnect(cached.instance)


@contextmanager
def faults(what: str) -> Iterator[None]:
    """Turn pyVmomi and network exceptions raised inside into the contract's errors,
    with ``what`` (e.g. ``starting i-2-10-VM``) at the head of the message."""
    try:
        yield
    except (HostUnreachable, OperationFailed):
        raise
    except vim.fault.InsufficientResourcesFault as exc:
        raise InsufficientHostCapacity(f"{what}: {exc.msg}") from exc
    except vim.fault.NotAuthenticated as exc:
        raise HostUnreachable(f"{what}: the vCenter session expired ({exc.msg})") from exc
    except vmodl.MethodFault as exc:
        raise OperationFailed(f"{what}: {exc.msg or type(exc).__name__}") from exc
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise HostUnreachable(f"{what}: vCenter does not answer ({exc})") from exc


def wait_for(instance: Any, task: Any, what: str) -> Any:
    """Block until ``task`` ends; its result, or its fault as a contract error.

    The task is read through the property collector (``info.state`` ...), not through
    ``task.info``: vcsim names a ``VirtualDiskManager`` as the ``info.entity`` of disk
    tasks, which pyVmomi refuses to deserialise as a managed entity.
    """
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task, skip=False)],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.Task, pathSet=["info.state", "info.error", "info.result"]
            )
        ],
    )
    while True:
        contents = instance.content.propertyCollector.RetrieveContents([spec])
        info = {prop.name: prop.val for prop in contents[0].propSet} if contents else {}
        state = info.get("info.state")
        if state == vim.TaskInfo.State.success:
            return info.get("info.result")
        if state == vim.TaskInfo.State.error:
            fault = info.get("info.error")
            message = f"{what}: {getattr(fault, 'msg', '') or type(fault).__name__}"
            if isinstance(fault, vim.fault.InsufficientResourcesFault):
                raise InsufficientHostCapacity(message)
            if isinstance(fault, vim.fault.FileNotFound):
                raise MissingFile(message)
            raise OperationFailed(message)
        time.sleep(TASK_POLL_SECONDS)


class MissingFile(OperationFailed):
    """A task failed because a datastore file is not there (idempotent deletes)."""


# ---- inventory -----------------------------------------------------------------------


def find_datacenter(instance: Any, where: ClusterUrl) -> Any:
    """The datacenter named in ``where``; :class:`OperationFailed` naming it if absent."""
    for entity in instance.content.rootFolder.childEntity:
        if isinstance(entity, vim.Datacenter) and entity.name == where.datacenter:
            return entity
    raise OperationFailed(f"vCenter {where.netloc} has no datacenter {where.datacenter!r}")


def _walk(folder: Any) -> Iterator[Any]:
    for entity in folder.childEntity:
        if isinstance(entity, vim.Folder):
            yield from _walk(entity)
        else:
            yield entity


def find_cluster(instance: Any, where: ClusterUrl) -> Any:
    """The cluster named in ``where`` (in its datacenter's host folder, sub-folders
    included); :class:`OperationFailed` naming what is missing."""
    datacenter = find_datacenter(instance, where)
    for entity in _walk(datacenter.hostFolder):
        if isinstance(entity, vim.ClusterComputeResource) and entity.name == where.cluster:
            return entity
    raise OperationFailed(
        f"datacenter {where.datacenter!r} of vCenter {where.netloc} has no cluster"
        f" {where.cluster!r}"
    )


def host_system(instance: Any, where: ClusterUrl) -> Any:
    """The ``HostSystem`` whose MOR ``where`` names (no round trip: a stub)."""
    return vim.HostSystem(where.host_mor, instance._stub)


def find_vm(instance: Any, where: ClusterUrl, name: str) -> Any | None:
    """The VM called ``name`` in the datacenter, or ``None``. One search index call."""
    datacenter = find_datacenter(instance, where)
    found = instance.content.searchIndex.FindChild(datacenter.vmFolder, name)
    return found if isinstance(found, vim.VirtualMachine) else None


def collect(
    instance: Any, objects: list[Any], kind: type, paths: list[str]
) -> dict[str, dict[str, Any]]:
    """One property collector call: ``paths`` of each of ``objects`` (all of type
    ``kind``), by MOR id. Objects vCenter no longer knows are left out."""
    remaining = list(objects)
    while True:
        if not remaining:
            return {}
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[
                vmodl.query.PropertyCollector.ObjectSpec(obj=o, skip=False) for o in remaining
            ],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths)],
        )
        options = vmodl.query.PropertyCollector.RetrieveOptions()
        try:
            result = instance.content.propertyCollector.RetrievePropertiesEx([spec], options)
            break
        except vmodl.fault.ManagedObjectNotFound as exc:
            # Deleted between listing and reading (a VM destroyed meanwhile): leave it
            # out and ask again for the others.
            gone = getattr(exc.obj, "_moId", None)
            before = len(remaining)
            remaining = [o for o in remaining if o._moId != gone]
            if len(remaining) == before:
                raise
    answers: dict[str, dict[str, Any]] = {}
    while result is not None:
        for content in result.objects:
            answers[content.obj._moId] = {prop.name: prop.val for prop in content.propSet}
        if not result.token:
            break
        result = instance.content.propertyCollector.ContinueRetrievePropertiesEx(result.token)
    return answers


def datacenter_vms(instance: Any, where: ClusterUrl, paths: list[str]) -> dict[str, dict[str, Any]]:
    """``paths`` of every VM of the datacenter, by MOR id: one container view and one
    property collector call (the VMs are read through the view, so a VM deleted
    meanwhile is simply absent). ``runtime.host`` is always among the answers.

    vcsim does not update ``HostSystem.vm`` when a VM is relocated, and vCenter can
    lag there too; ``runtime.host`` of the VM itself is the truth.
    """
    datacenter = find_datacenter(instance, where)
    manager = instance.content.viewManager
    view = manager.CreateContainerView(datacenter.vmFolder, [vim.VirtualMachine], True)
    try:
        traverse = vmodl.query.PropertyCollector.TraversalSpec(
            name="view", type=vim.view.ContainerView, path="view", skip=False
        )
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[
                vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])
            ],
            propSet=[
                vmodl.query.PropertyCollector.PropertySpec(
                    type=vim.VirtualMachine, pathSet=sorted({*paths, "runtime.host"})
                )
            ],
        )
        options = vmodl.query.PropertyCollector.RetrieveOptions()
        result = instance.content.propertyCollector.RetrievePropertiesEx([spec], options)
        answers: dict[str, dict[str, Any]] = {}
        while result is not None:
            for content in result.objects:
                answers[content.obj._moId] = {prop.name: prop.val for prop in content.propSet}
            if not result.token:
                break
            result = instance.content.propertyCollector.ContinueRetrievePropertiesEx(result.token)
        return answers
    finally:
        view.DestroyView()


def host_vms(instance: Any, where: ClusterUrl, paths: list[str]) -> dict[str, dict[str, Any]]:
    """:func:`datacenter_vms` of the VMs whose ``runtime.host`` is ``where.host_mor``."""
    return {
        mor: props
        for mor, props in datacenter_vms(instance, where, paths).items()
        if getattr(props.get("runtime.host"), "_moId", None) == where.host_mor
    }
