"""Fake drivers for tests, and a way to make them loadable without entry points.

Nothing here is registered under a production entry point (neutron's ``fake_agent`` in
its real ``mechanism_drivers`` group is the mistake we avoid): a test makes a fake
loadable for the duration of a ``with`` block only::

    from cumulo.drivers import load_drivers
    from cumulo.testing.fakes import FakeDriver, registered_drivers

    with registered_drivers("cumulo.hypervisors", {"Fake": FakeDriver}):
        assert load_drivers("cumulo.hypervisors", ["Fake"]) == {"Fake": FakeDriver}

Fakes of each driver kind (hypervisor, network provider, storage, ...) join this module
as their contracts appear in :mod:`cumulo.sdk`.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from stevedore import NamedExtensionManager
from stevedore.extension import Extension

from cumulo import drivers
from cumulo.sdk import Driver


class FakeDriver(Driver):
    """The smallest driver: satisfies :class:`cumulo.sdk.Driver` and does nothing."""

    name: ClassVar[str] = "Fake"
    provides: ClassVar[tuple[str, ...]] = ("fake:Fake",)


@contextmanager
def registered_drivers(group: str, classes: Mapping[str, type]) -> Iterator[None]:
    """Make ``classes`` loadable by name from ``group`` inside the ``with`` block.

    :param group: a driver group (``cumulo.hypervisors``, ...).
    :param classes: driver name -> class. Any class is accepted, so a test can check
        that :func:`cumulo.drivers.load_drivers` refuses one that is not a ``Driver``.

    Inside the block, :func:`~cumulo.drivers.load_drivers` for ``group`` sees exactly
    these classes and none of the installed entry points of that group; other groups
    are untouched. Blocks nest (an inner block for the same group wins).
    """
    previous = drivers._named_manager
    faked_group = group

    def fake_manager(
        group: str, names: Sequence[str], on_load_failure: Any
    ) -> NamedExtensionManager[Any]:
        if group != faked_group:
            return previous(group, names, on_load_failure)
        manager = _FakeManager.make_test_instance(
            [
                Extension(name, _entry_point(group, name, cls), cls, None)
                for name, cls in classes.items()
                if name in names
            ],
            namespace=group,
        )
        manager.available = [_entry_point(group, name, cls) for name, cls in classes.items()]
        return manager

    drivers._named_manager = fake_manager
    try:
        yield
    finally:
        drivers._named_manager = previous


class _FakeManager(NamedExtensionManager[Any]):
    """A stevedore test manager that also lists its fake entry points."""

    available: list[importlib.metadata.EntryPoint]

    def list_entry_points(self) -> list[importlib.metadata.EntryPoint]:
        return self.available


def _entry_point(group: str, name: str, cls: type) -> importlib.metadata.EntryPoint:
    # stevedore's Extension wants an entry point; this one describes the class honestly.
    return importlib.metadata.EntryPoint(
        name=name, value=f"{cls.__module__}:{cls.__qualname__}", group=group
    )
