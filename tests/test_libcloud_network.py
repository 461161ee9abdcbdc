"""Unchanged Apache Libcloud (``CloudStackNodeDriver``) manages guest networks and public
IP addresses on ``cumulo serve --embedded`` over real HTTP (issue 6, "Must show"):
``ex_create_network``, ``ex_list_networks``, ``ex_allocate_public_ip``,
``ex_list_public_ips``, ``ex_release_public_ip``, ``ex_delete_network`` — as a tenant,
each effect checked through the API with ``cs``.

The offering is handed to ``ex_create_network`` as Libcloud's own
``CloudStackNetworkOffering`` built from ``listNetworkOfferings``:
``ex_list_network_offerings`` reads ``serviceofferingid``, which 4.1 leaves out of
offerings that name no router service offering (the defaults), so that call belongs to
the offerings' own tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cs import CloudStack
from libcloud.compute.drivers.cloudstack import CloudStackNetworkOffering
from test_vm_clients import Cloud, embedded_cloud

pytest.importorskip("cumulo_simulator")

ADVANCED = "Demo Advanced"
ISOLATED = "DefaultIsolatedNetworkOfferingWithSourceNatService"


@dataclass(frozen=True)
class Tenant:
    cloud: Cloud
    driver: Any
    cs: CloudStack


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    with embedded_cloud(tmp_path_factory.mktemp("libcloud-network")) as cloud:
        keys = cloud.tenant("lcnet")
        yield Tenant(cloud, cloud.libcloud(keys), cloud.cs(keys))


def _offering(tenant: Tenant, name: str) -> CloudStackNetworkOffering:
    (row,) = tenant.cs.listNetworkOfferings(name=name)["networkoffering"]
    return CloudStackNetworkOffering(
        row["name"], row["displaytext"], row["guestiptype"], row["id"],
        row.get("serviceofferingid"), row.get("forvpc"), tenant.driver,
    )  # fmt: skip


def _advanced(driver: Any) -> Any:
    (location,) = [loc for loc in driver.list_locations() if loc.name == ADVANCED]
    return location


def test_networks_are_created_listed_and_deleted(tenant: Tenant) -> None:
    driver = tenant.driver
    location = _advanced(driver)
    offering = _offering(tenant, ISOLATED)
    assert offering.guest_ip_type == "Isolated"
    network = driver.ex_create_network(
        display_text="libcloud tier", name="lc-net", network_offering=offering, location=location,
        network_domain="lc.example",
    )  # fmt: skip
    assert network.name == "lc-net" and network.zoneid == location.id
    assert network.extra["network_domain"] == "lc.example"
    (listed,) = [n for n in driver.ex_list_networks() if n.id == network.id]
    assert listed.displaytext == "libcloud tier" and listed.networkofferingid == offering.id
    assert listed.extra["state"] == "Allocated" and listed.extra["acl_type"] == "Account"
    (seen,) = tenant.cs.listNetworks(id=network.id)["network"]
    assert seen["name"] == "lc-net" and seen["networkdomain"] == "lc.example"
    driver.ex_delete_network(network)
    assert [n for n in driver.ex_list_networks() if n.id == network.id] == []


def test_public_ips_are_allocated_listed_and_released(tenant: Tenant) -> None:
    driver = tenant.driver
    location = _advanced(driver)
    offering = _offering(tenant, ISOLATED)
    network = driver.ex_create_network(
        display_text="ips", name="lc-ips", network_offering=offering, location=location
    )
    address = driver.ex_allocate_public_ip(network_id=network.id, location=location)
    assert address.address.startswith("203.0.113.")
    by_zone = driver.ex_allocate_public_ip(location=location)  # the tenant's one network
    listed = {ip.id: ip for ip in driver.ex_list_public_ips()}
    assert set(listed) == {address.id, by_zone.id}
    assert listed[address.id].address == address.address
    assert listed[address.id].associated_network_id == network.id
    (seen,) = tenant.cs.listPublicIpAddresses(id=address.id)["publicipaddress"]
    assert seen["state"] == "Allocated" and seen["associatednetworkid"] == network.id
    assert driver.ex_release_public_ip(address) is True
    assert {ip.id for ip in driver.ex_list_public_ips()} == {by_zone.id}
    assert tenant.cs.listPublicIpAddresses(id=address.id) == {}
