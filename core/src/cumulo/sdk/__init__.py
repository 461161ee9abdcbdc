"""The cumulo plugin SDK: the only core surface plugins import besides ``hookimpl``.

``SDK_VERSION`` follows semantic versioning on its own: a plugin states the range it
was written against (``cumulo-core>=0.1,<1``) and the core refuses nothing silently;
removals happen only in a new major version after a deprecation period.
"""

from cumulo.sdk.api import (
    ALL_ROLES,
    ANY_ADMIN,
    Call,
    CallContext,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    RawResult,
    Role,
    SuccessResult,
)
from cumulo.sdk.config import ConfigKey, Scope, ValueType
from cumulo.sdk.driver import Driver
from cumulo.sdk.events import Event
from cumulo.sdk.hypervisor import (
    ConsoleAccess,
    HostConnection,
    HostInfo,
    HostPing,
    HostRef,
    HostStatus,
    HostUnreachable,
    HypervisorDriver,
    HypervisorError,
    InsufficientHostCapacity,
    InvalidHostCredentials,
    NicSpec,
    OperationFailed,
    SnapshotInfo,
    VmNotFound,
    VmSpec,
    VmState,
    VolumeSpec,
)
from cumulo.sdk.migrations import MigrationLocation
from cumulo.sdk.storage import (
    InvalidStorageUrl,
    PoolRef,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageCapacity,
    StorageError,
    StorageOperationFailed,
    StorageUnreachable,
    StorageUrl,
    StoredObject,
    StoredVolume,
    StoreRef,
)

SDK_VERSION = "0.1.0"

__all__ = [
    "ALL_ROLES",
    "ANY_ADMIN",
    "SDK_VERSION",
    "Call",
    "CallContext",
    "Command",
    "ConfigKey",
    "ConsoleAccess",
    "Driver",
    "Event",
    "HostConnection",
    "HostInfo",
    "HostPing",
    "HostRef",
    "HostStatus",
    "HostUnreachable",
    "HypervisorDriver",
    "HypervisorError",
    "InsufficientHostCapacity",
    "InvalidHostCredentials",
    "InvalidStorageUrl",
    "ListResult",
    "MigrationLocation",
    "NicSpec",
    "ObjectResult",
    "OperationFailed",
    "Param",
    "ParamType",
    "PoolRef",
    "PrimaryStorageDriver",
    "RawResult",
    "Role",
    "Scope",
    "SecondaryStorageDriver",
    "SnapshotInfo",
    "StorageCapacity",
    "StorageError",
    "StorageOperationFailed",
    "StorageUnreachable",
    "StorageUrl",
    "StoreRef",
    "StoredObject",
    "StoredVolume",
    "SuccessResult",
    "ValueType",
    "VmNotFound",
    "VmSpec",
    "VmState",
    "VolumeSpec",
]
