"""Service and disk offerings: the seeded rows and every rule of the services, on a
migrated database (SQLite or MariaDB as configured)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_accounts_fixtures import Cloud, make_cloud

from cumulo.db.base import utcnow
from cumulo.offerings import disk_offerings, service_offerings
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.sdk.errors import InvalidParameterValue

GIB = 1024**3


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    return make_cloud(db_session)


def _service(session: Session, **overrides: Any) -> ServiceOffering:
    params: dict[str, Any] = {
        "name": "Big",
        "display_text": "Big Instance",
        "cpu": 4,
        "speed": 2000,
        "memory": 8192,
    }
    params.update(overrides)
    return service_offerings.create_service_offering(session, **params)


def _disk(session: Session, **overrides: Any) -> DiskOffering:
    params: dict[str, Any] = {"name": "Huge", "display_text": "Huge Disk", "disk_size_gb": 500}
    params.update(overrides)
    return disk_offerings.create_disk_offering(session, **params)


def _rejected(call: Any, param: str) -> str:
    """Run ``call``; it must raise a 431 whose text starts with ``param``."""
    with pytest.raises(InvalidParameterValue) as caught:
        call()
    assert caught.value.errorcode == 431
    assert caught.value.errortext.startswith(f"{param}:"), caught.value.errortext
    return caught.value.errortext


# ---- seeded rows ------------------------------------------------------------------------


def test_the_migration_seeds_the_user_offerings_41_ships(db_session: Session) -> None:
    rows = db_session.scalars(
        select(ServiceOffering).where(ServiceOffering.system_use.is_(False))
    ).all()
    seeded = {(o.name, o.display_text, o.cpu, o.speed, o.ram_size) for o in rows}
    assert ("Small Instance", "Small Instance", 1, 500, 512) in seeded
    assert ("Medium Instance", "Medium Instance", 1, 1000, 1024) in seeded
    for offering in rows:
        assert offering.domain_id is None  # public
        assert not offering.default_use  # 4.1 lets admins delete them
        assert offering.storage_type == "shared"
        assert offering.deployment_planner is None
        assert len(offering.uuid) == 36


def test_the_migration_seeds_the_system_offerings_of_routers_proxies_and_ssvms(
    db_session: Session,
) -> None:
    rows = db_session.scalars(select(ServiceOffering).where(ServiceOffering.system_use)).all()
    by_type = {o.vm_type: o for o in rows}
    assert set(by_type) == {"domainrouter", "consoleproxy", "secondarystoragevm"}
    sizes = {t: (o.cpu, o.speed, o.ram_size, o.ha_enabled) for t, o in by_type.items()}
    assert sizes == {
        "domainrouter": (1, 500, 128, True),
        "consoleproxy": (1, 500, 1024, False),
        "secondarystoragevm": (1, 500, 256, False),
    }
    assert by_type["domainrouter"].name == "System Offering For Software Router"
    assert by_type["domainrouter"].unique_name == "Cloud.Com-SoftwareRouter"
    assert all(o.default_use and o.domain_id is None for o in rows)


def test_the_migration_seeds_the_disk_offerings_41_ships(db_session: Session) -> None:
    rows = db_session.scalars(select(DiskOffering).order_by(DiskOffering.id)).all()
    seeded = [(o.name, o.display_text, o.disk_size, o.customized) for o in rows]
    assert seeded == [
        ("Small", "Small Disk, 5 GB", 5 * GIB, False),
        ("Medium", "Medium Disk, 20 GB", 20 * GIB, False),
        ("Large", "Large Disk, 100 GB", 100 * GIB, False),
        ("Custom", "Custom Disk", 0, True),
    ]
    assert not any(o.system_use or o.use_local_storage or o.domain_id for o in rows)


# ---- service offerings ------------------------------------------------------------------


def test_create_service_offering_stores_every_parameter(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    offering = _service(
        cloud.session,
        name="  Fast  ",
        storage_type="LOCAL",
        tags=" ssd, ,fast ,",
        host_tag=" gpu ",
        offer_ha=True,
        limit_cpu_use=True,
        network_rate=100,
        domain=sales,
    )
    stored = cloud.session.get(ServiceOffering, offering.id)
    assert stored is not None
    assert (stored.name, stored.cpu, stored.speed, stored.ram_size) == ("Fast", 4, 2000, 8192)
    assert stored.use_local_storage and stored.storage_type == "local"
    assert stored.tags == "ssd,fast"
    assert stored.host_tag == "gpu"
    assert stored.ha_enabled and stored.limit_cpu_use
    assert stored.nw_rate == 100
    assert stored.domain_id == sales.id
    assert not stored.system_use and stored.vm_type is None and not stored.default_use


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"cpu": 0}, "cpunumber"),
        ({"cpu": 2**31}, "cpunumber"),
        ({"speed": 0}, "cpuspeed"),
        ({"speed": -5}, "cpuspeed"),
        ({"memory": 31}, "memory"),
        ({"memory": 2**31}, "memory"),
        ({"storage_type": "nfs"}, "storagetype"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"display_text": "d" * 4097}, "displaytext"),
        ({"tags": "t" * 4097}, "tags"),
        ({"host_tag": "h" * 256}, "hosttags"),
        ({"system_vm_type_name": "consoleproxy"}, "systemvmtype"),
        ({"is_system": True, "system_vm_type_name": "webserver"}, "systemvmtype"),
        (
            {"is_system": True, "system_vm_type_name": "consoleproxy", "network_rate": 10},
            "networkrate",
        ),
        ({"network_rate": -1}, "networkrate"),
    ],
)
def test_create_service_offering_refuses_bad_values_naming_the_parameter(
    cloud: Cloud, overrides: dict[str, Any], param: str
) -> None:
    before = cloud.session.scalars(select(ServiceOffering.id)).all()
    _rejected(lambda: _service(cloud.session, **overrides), param)
    assert cloud.session.scalars(select(ServiceOffering.id)).all() == before


def test_memory_and_cpu_bounds_are_inclusive(cloud: Cloud) -> None:
    low = _service(cloud.session, cpu=1, speed=1, memory=32)
    high = _service(cloud.session, cpu=2**31 - 1, speed=2**31 - 1, memory=2**31 - 1)
    assert (low.cpu, low.speed, low.ram_size) == (1, 1, 32)
    assert high.ram_size == 2**31 - 1


def test_a_system_offering_defaults_to_a_router_offering(cloud: Cloud) -> None:
    router = _service(cloud.session, is_system=True, network_rate=50)
    assert (router.system_use, router.vm_type, router.nw_rate) == (True, "domainrouter", 50)
    proxy = _service(cloud.session, is_system=True, system_vm_type_name="ConsoleProxy")
    assert proxy.vm_type == "consoleproxy"
    assert not proxy.default_use  # only the seeded ones are the server's defaults


def test_an_offering_cannot_belong_to_a_removed_domain(cloud: Cloud) -> None:
    gone = cloud.domain("Gone")
    gone.removed = utcnow()
    _rejected(lambda: _service(cloud.session, domain=gone), "domainid")
    _rejected(lambda: _disk(cloud.session, domain=gone), "domainid")


def test_update_service_offering_changes_name_text_and_sort_key_only(cloud: Cloud) -> None:
    offering = _service(cloud.session)
    assert not service_offerings.update_service_offering(cloud.session, offering)
    assert service_offerings.update_service_offering(
        cloud.session, offering, name=" Bigger ", display_text="Bigger one", sort_key=7
    )
    cloud.session.expire_all()
    stored = cloud.session.get(ServiceOffering, offering.id)
    assert stored is not None
    assert (stored.name, stored.display_text, stored.sort_key) == ("Bigger", "Bigger one", 7)
    assert (stored.cpu, stored.speed, stored.ram_size) == (4, 2000, 8192)
    _rejected(
        lambda: service_offerings.update_service_offering(cloud.session, stored, name=""),
        "name",
    )


def test_delete_service_offering_is_a_soft_delete(cloud: Cloud) -> None:
    offering = _service(cloud.session)
    service_offerings.delete_service_offering(cloud.session, offering)
    stored = cloud.session.get(ServiceOffering, offering.id)
    assert stored is not None and stored.removed is not None
    small = cloud.session.scalars(
        select(ServiceOffering).where(ServiceOffering.name == "Small Instance")
    ).one()
    service_offerings.delete_service_offering(cloud.session, small)  # as 4.1 allows
    assert small.removed is not None


def test_the_default_system_offerings_cannot_be_deleted(cloud: Cloud) -> None:
    for offering in cloud.session.scalars(
        select(ServiceOffering).where(ServiceOffering.default_use)
    ).all():
        text = _rejected(
            lambda o=offering: service_offerings.delete_service_offering(cloud.session, o), "id"
        )
        assert offering.name in text
        assert offering.removed is None


# ---- disk offerings ---------------------------------------------------------------------


def test_create_disk_offering_stores_bytes_tags_and_storage_type(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    offering = _disk(
        cloud.session, disk_size_gb=50, tags="ssd,,fast", storage_type="local", domain=sales
    )
    assert offering.disk_size == 50 * GIB
    assert (offering.tags, offering.storage_type, offering.domain_id) == (
        "ssd,fast",
        "local",
        sales.id,
    )
    assert not offering.customized


def test_a_customized_disk_offering_has_no_size(cloud: Cloud) -> None:
    offering = _disk(cloud.session, disk_size_gb=None, customized=True)
    assert (offering.customized, offering.disk_size) == (True, 0)


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"disk_size_gb": None}, "disksize"),
        ({"disk_size_gb": 0}, "disksize"),
        ({"disk_size_gb": -3}, "disksize"),
        ({"disk_size_gb": 2001}, "disksize"),
        ({"disk_size_gb": 10, "customized": True}, "disksize"),
        ({"storage_type": "iscsi"}, "storagetype"),
        ({"name": ""}, "name"),
        ({"display_text": "x" * 4097}, "displaytext"),
    ],
)
def test_create_disk_offering_refuses_bad_values_naming_the_parameter(
    cloud: Cloud, overrides: dict[str, Any], param: str
) -> None:
    _rejected(lambda: _disk(cloud.session, **overrides), param)


def test_the_largest_disk_follows_storage_max_volume_size(cloud: Cloud) -> None:
    assert _disk(cloud.session, disk_size_gb=2000).disk_size == 2000 * GIB
    text = _rejected(lambda: _disk(cloud.session, disk_size_gb=101, max_size_gb=100), "disksize")
    assert "100" in text


def test_update_and_delete_disk_offering(cloud: Cloud) -> None:
    offering = _disk(cloud.session)
    assert disk_offerings.update_disk_offering(cloud.session, offering, sort_key=3, name="XL")
    assert (offering.name, offering.sort_key, offering.disk_size) == ("XL", 3, 500 * GIB)
    assert not disk_offerings.update_disk_offering(cloud.session, offering)
    disk_offerings.delete_disk_offering(cloud.session, offering)
    assert offering.removed is not None


def test_a_system_disk_offering_cannot_be_deleted(cloud: Cloud) -> None:
    system = DiskOffering(name="sys", display_text="sys", disk_size=GIB, system_use=True)
    cloud.session.add(system)
    cloud.session.flush()
    _rejected(lambda: disk_offerings.delete_disk_offering(cloud.session, system), "id")
    assert system.removed is None
