"""Named drivers: only enabled names load, and an enabled driver that cannot load says why.

Drivers come from fakes registered without entry points (``registered_drivers``), from
throwaway installed distributions (``make_distribution``) and from the pip-installed
fixture distributions (``installed_fixture_plugins``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest

from cumulo import drivers
from cumulo.drivers import (
    DRIVER_GROUPS,
    DriverLoadError,
    DriverRecord,
    list_drivers,
    load_drivers,
)
from cumulo.sdk import Driver
from cumulo.testing.fakes import FakeDriver, registered_drivers
from cumulo.testing.plugins import MakeDistribution

HYPERVISORS = "cumulo.hypervisors"


class OtherFake(Driver):
    name: ClassVar[str] = "Other"


class NotADriver:
    name = "Plain"


def test_enabled_fakes_load_in_the_order_asked() -> None:
    with registered_drivers(HYPERVISORS, {"Fake": FakeDriver, "Other": OtherFake}):
        loaded = load_drivers(HYPERVISORS, ["Other", "Fake", "Other"])
    assert list(loaded.items()) == [("Other", OtherFake), ("Fake", FakeDriver)]


def test_only_enabled_names_are_returned() -> None:
    with registered_drivers(HYPERVISORS, {"Fake": FakeDriver, "Other": OtherFake}):
        assert load_drivers(HYPERVISORS, ["Fake"]) == {"Fake": FakeDriver}
        assert load_drivers(HYPERVISORS, []) == {}


def test_enabled_driver_that_is_not_installed_stops_with_a_clear_message() -> None:
    with (
        registered_drivers(HYPERVISORS, {"Fake": FakeDriver, "Other": OtherFake}),
        pytest.raises(DriverLoadError) as caught,
    ):
        load_drivers(HYPERVISORS, ["Fake", "KVM"], where="global setting 'hypervisor.list'")
    assert str(caught.value) == (
        "cannot load cumulo.hypervisors driver 'KVM' (enabled in global setting "
        "'hypervisor.list'): no installed distribution provides it (installed "
        "cumulo.hypervisors drivers: Fake, Other)"
    )
    assert (caught.value.group, caught.value.name) == (HYPERVISORS, "KVM")


def test_a_class_that_is_not_a_driver_is_refused() -> None:
    with (
        registered_drivers(HYPERVISORS, {"Plain": NotADriver}),
        pytest.raises(DriverLoadError) as caught,
    ):
        load_drivers(HYPERVISORS, ["Plain"])
    assert str(caught.value) == (
        "cannot load cumulo.hypervisors driver 'Plain' (enabled in configuration): "
        f"{NotADriver.__module__}:NotADriver is not a subclass of cumulo.sdk.Driver"
    )


def test_registered_drivers_touches_one_group_and_is_undone() -> None:
    original = drivers._named_manager
    with registered_drivers("cumulo.storage", {"Fake": FakeDriver}):
        assert load_drivers("cumulo.storage", ["Fake"]) == {"Fake": FakeDriver}
        with pytest.raises(DriverLoadError, match="no installed distribution provides it"):
            load_drivers(HYPERVISORS, ["Fake"])
    assert drivers._named_manager is original
    with pytest.raises(DriverLoadError):
        load_drivers("cumulo.storage", ["Fake"])


def test_unknown_group_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"'cumulo\.hypervisor' is not a driver group"):
        load_drivers("cumulo.hypervisor", ["KVM"])


def test_installed_drivers_load_by_name_and_broken_ones_are_not_imported(
    installed_fixture_plugins: Path,
) -> None:
    loaded = load_drivers(HYPERVISORS, ["Hello"])
    assert list(loaded) == ["Hello"]
    assert loaded["Hello"].__module__ == "cumulo_hello.hypervisor"
    assert issubclass(loaded["Hello"], Driver)
    # Broken is installed in the same group, but nobody enabled it: never imported.
    assert "cumulo_broken.hypervisor" not in sys.modules


def test_enabled_driver_that_fails_to_import_stops_with_the_import_error(
    installed_fixture_plugins: Path,
) -> None:
    with pytest.raises(DriverLoadError) as caught:
        load_drivers(HYPERVISORS, ["Hello", "Broken"], where="cluster 'c1' hypervisor type")
    assert str(caught.value) == (
        "cannot load cumulo.hypervisors driver 'Broken' (enabled in cluster 'c1' "
        "hypervisor type): ModuleNotFoundError: No module named 'libbrokenvendor'"
    )


def test_name_declared_by_two_distributions_is_ambiguous(
    make_distribution: MakeDistribution,
) -> None:
    source = "from cumulo.sdk import Driver\n\nclass Srx(Driver):\n    name = 'JuniperSRX'\n"
    for dist in ("cumulo-srx-a", "cumulo-srx-b"):
        module = dist.replace("-", "_")
        make_distribution(
            dist,
            modules={module: source},
            entry_points={"cumulo.network_providers": {"JuniperSRX": f"{module}:Srx"}},
        )
    with pytest.raises(DriverLoadError) as caught:
        load_drivers("cumulo.network_providers", ["JuniperSRX"])
    assert str(caught.value) == (
        "cannot load cumulo.network_providers driver 'JuniperSRX' (enabled in "
        "configuration): more than one installed distribution provides it "
        "(cumulo_srx_a:Srx, cumulo_srx_b:Srx)"
    )


def test_list_drivers_shows_every_installed_driver_with_its_error(
    installed_fixture_plugins: Path, make_distribution: MakeDistribution
) -> None:
    make_distribution(
        "cumulo-plain",
        modules={"cumulo_t_plain": "class Plain:\n    pass\n"},
        entry_points={"cumulo.storage": {"Plain": "cumulo_t_plain:Plain"}},
        version="3.1",
    )
    records = {(r.group, r.name): r for r in list_drivers()}
    assert records[(HYPERVISORS, "Hello")] == DriverRecord(
        HYPERVISORS, "Hello", "cumulo-hello", "0.1.0", ("cumulo.hypervisors:Hello",), None
    )
    assert records[(HYPERVISORS, "Broken")] == DriverRecord(
        HYPERVISORS,
        "Broken",
        "cumulo-broken",
        "0.1.0",
        ("cumulo.hypervisors:Broken",),
        "ModuleNotFoundError: No module named 'libbrokenvendor'",
    )
    assert records[("cumulo.storage", "Plain")].error == (
        "cumulo_t_plain:Plain is not a subclass of cumulo.sdk.Driver"
    )
    groups = [record.group for record in list_drivers()]
    assert groups == sorted(groups, key=DRIVER_GROUPS.index)
