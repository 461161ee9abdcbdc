"""Compliance kits: the tests every driver of a kind must pass, run by the plugin itself.

A plugin subclasses a kit in its own test suite and overrides the fixtures that say how
to reach its hypervisor or storage; pytest collects the inherited tests::

    from cumulo.testing.compliance import HypervisorComplianceKit

    class TestKvmCompliance(HypervisorComplianceKit):
        @pytest.fixture
        def driver(self) -> HypervisorDriver: ...

        @pytest.fixture
        def make_connection(self) -> Callable[[int], HostConnection]: ...

The kits' class names do not start with ``Test``, so importing one collects nothing.
"""

from cumulo.testing.compliance.allocators import (
    DeploymentPlannerComplianceKit,
    HostFilterComplianceKit,
    HostWeigherComplianceKit,
    StoragePoolAllocatorComplianceKit,
)
from cumulo.testing.compliance.hypervisor import HypervisorComplianceKit
from cumulo.testing.compliance.network import NetworkProviderComplianceKit
from cumulo.testing.compliance.storage import (
    PrimaryStorageComplianceKit,
    SecondaryStorageComplianceKit,
)

__all__ = [
    "DeploymentPlannerComplianceKit",
    "HostFilterComplianceKit",
    "HostWeigherComplianceKit",
    "HypervisorComplianceKit",
    "NetworkProviderComplianceKit",
    "PrimaryStorageComplianceKit",
    "SecondaryStorageComplianceKit",
    "StoragePoolAllocatorComplianceKit",
]
