"""The storage compliance kits: what every primary and secondary storage driver must do.

Subclass in a ``Test...`` class and override ``driver``, ``pool_url`` (or ``store_url``)
— a URL where the driver can create a small volume or object — and ``bad_url`` (a URL of
a scheme or shape the driver must refuse). Objects are named freshly each test and
deleted at its end.
"""

from __future__ import annotations

import uuid

import pytest

from cumulo.sdk import (
    InvalidStorageUrl,
    PoolRef,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageCapacity,
    StorageUrl,
    StoreRef,
)
from cumulo.sdk.storage import TemplateSource


def _sane(capacity: StorageCapacity) -> None:
    assert capacity.total_bytes > 0
    assert 0 <= capacity.used_bytes <= capacity.total_bytes


class PrimaryStorageComplianceKit:
    """Tests every primary storage driver passes."""

    @pytest.fixture
    def driver(self) -> PrimaryStorageDriver:
        """The driver under test (override)."""
        raise NotImplementedError("override the driver fixture")

    @pytest.fixture
    def pool_url(self) -> str:
        """A pool URL the driver can use (override)."""
        raise NotImplementedError("override the pool_url fixture")

    @pytest.fixture
    def bad_url(self) -> str:
        """A URL the driver must refuse."""
        return "gopher://"

    @pytest.fixture
    def pool(self, pool_url: str) -> PoolRef:
        """A fresh pool reference."""
        return PoolRef(uuid=str(uuid.uuid4()), url=pool_url)

    def test_validate_url(self, driver: PrimaryStorageDriver, pool_url: str, bad_url: str) -> None:
        """A good URL parses; a bad one raises InvalidStorageUrl."""
        assert isinstance(driver.validate_url(pool_url, {}), StorageUrl)
        with pytest.raises(InvalidStorageUrl):
            driver.validate_url(bad_url, {})

    def test_attach_reports_capacity_and_is_idempotent(
        self, driver: PrimaryStorageDriver, pool: PoolRef
    ) -> None:
        """attach twice, capacity sane, detach twice."""
        _sane(driver.attach_pool(pool))
        _sane(driver.attach_pool(pool))
        _sane(driver.pool_capacity(pool))
        driver.detach_pool(pool)
        driver.detach_pool(pool)

    def test_create_and_delete_volume(self, driver: PrimaryStorageDriver, pool: PoolRef) -> None:
        """A volume has a path and at least the size asked; deleting twice succeeds."""
        driver.attach_pool(pool)
        volume = driver.create_volume(pool, f"vol-{uuid.uuid4().hex[:8]}", 64 * 1024**2)
        assert volume.path
        assert volume.size_bytes >= 64 * 1024**2
        _sane(driver.pool_capacity(pool))
        driver.delete_volume(pool, volume.path)
        driver.delete_volume(pool, volume.path)


class SecondaryStorageComplianceKit:
    """Tests every secondary storage driver passes."""

    @pytest.fixture
    def driver(self) -> SecondaryStorageDriver:
        """The driver under test (override)."""
        raise NotImplementedError("override the driver fixture")

    @pytest.fixture
    def store_url(self) -> str:
        """A store URL the driver can use (override)."""
        raise NotImplementedError("override the store_url fixture")

    @pytest.fixture
    def template_url(self) -> str:
        """Where a small template can be downloaded from (override for real storage)."""
        return "http://templates.invalid/tiny.qcow2"

    @pytest.fixture
    def bad_url(self) -> str:
        """A URL the driver must refuse."""
        return "gopher://"

    @pytest.fixture
    def store(self, store_url: str) -> StoreRef:
        """A fresh store reference."""
        return StoreRef(uuid=str(uuid.uuid4()), url=store_url)

    def test_validate_url(
        self, driver: SecondaryStorageDriver, store_url: str, bad_url: str
    ) -> None:
        """A good URL parses; a bad one raises InvalidStorageUrl."""
        assert isinstance(driver.validate_url(store_url, {}), StorageUrl)
        with pytest.raises(InvalidStorageUrl):
            driver.validate_url(bad_url, {})

    def test_attach_reports_capacity(self, driver: SecondaryStorageDriver, store: StoreRef) -> None:
        """attach twice, capacity sane."""
        _sane(driver.attach_store(store))
        _sane(driver.attach_store(store))
        _sane(driver.store_capacity(store))

    def test_register_list_delete(
        self, driver: SecondaryStorageDriver, store: StoreRef, template_url: str
    ) -> None:
        """A registered template is listed, registering again returns it, deleting it
        twice succeeds and it is no longer listed."""
        driver.attach_store(store)
        path = f"template/tmpl/2/{uuid.uuid4().hex[:8]}/t.qcow2"
        stored = driver.register_template(store, path, template_url)
        assert stored.path == path
        assert stored.size_bytes > 0
        assert driver.register_template(store, path, template_url) == stored
        assert driver.list_objects(store)[path] == stored
        driver.delete_object(store, path)
        driver.delete_object(store, path)
        assert path not in driver.list_objects(store)

    def test_download_template_returns_the_object(
        self, driver: SecondaryStorageDriver, store: StoreRef, template_url: str
    ) -> None:
        """``download_template`` (the default runs ``register_template``) returns the
        object at the path asked, listed afterwards; any progress it reports never
        goes backwards nor past the total."""
        driver.attach_store(store)
        path = f"template/tmpl/2/{uuid.uuid4().hex[:8]}/t.qcow2"
        reports: list[tuple[int, int | None]] = []
        source = TemplateSource(
            template_url,
            address_allowed=lambda address: True,
            progress=lambda done, total: reports.append((done, total)),
        )
        stored = driver.download_template(store, path, source)
        assert stored.path == path and stored.size_bytes > 0
        assert driver.list_objects(store)[path] == stored
        done = [d for d, _ in reports]
        assert done == sorted(done)
        assert all(total is None or d <= total for d, total in reports)
        driver.delete_object(store, path)
        assert path not in driver.list_objects(store)
