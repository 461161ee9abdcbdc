"""Unchanged Apache Libcloud (``CloudStackNodeDriver``) runs VMs, volumes and key pairs
on ``cumulo serve --embedded`` over real HTTP (issue 5, "Must show").

Every driver call the issue names really reaches the server: ``list_locations``,
``list_images``, ``list_sizes``, ``create_node`` (with and without a key pair, started
or left stopped as the driver's default asks), ``reboot_node``, ``destroy_node``,
``create_key_pair``, ``import_key_pair_from_string``, ``list_key_pairs``,
``get_key_pair``, ``delete_key_pair``, ``create_volume`` (fixed and custom sizes),
``list_volumes``, ``attach_volume``, ``detach_volume``, ``destroy_volume``. The driver
runs as a tenant (a user account with its own keys), the way Libcloud is used; each
call's effect is checked through the API with ``cs``, not through Libcloud's own view.
Key material is checked with OpenSSH's ``ssh-keygen``, independently of the server.

``list_nodes`` also reads ``listPublicIpAddresses``, ``listPortForwardingRules`` and
``listIpForwardingRules`` (guest networking, issue 6).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cs import CloudStack
from libcloud.common.types import ProviderError
from libcloud.compute.types import KeyPairDoesNotExistError, NodeState, StorageVolumeState
from test_vm_clients import TEMPLATE_SIZE, Cloud, embedded_cloud

GIB = 2**30


@dataclass(frozen=True)
class Tenant:
    """The cloud, and a user account's Libcloud driver and ``cs`` client."""

    cloud: Cloud
    driver: Any
    cs: CloudStack

    def vm(self, node_id: str) -> dict[str, Any]:
        """The VM as the admin's ``listVirtualMachines`` shows it (also when destroyed)."""
        (vm,) = self.cloud.cs().listVirtualMachines(id=node_id, listall="true")["virtualmachine"]
        return dict(vm)

    def volume(self, volume_id: str) -> dict[str, Any]:
        """The volume as the tenant's ``listVolumes`` shows it."""
        (volume,) = self.cs.listVolumes(id=volume_id)["volume"]
        return dict(volume)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    with embedded_cloud(tmp_path_factory.mktemp("libcloud-compute")) as cloud:
        keys = cloud.tenant("libcloud")
        yield Tenant(cloud, cloud.libcloud(keys), cloud.cs(keys))


def _create(tenant: Tenant, name: str, **extra: Any) -> Any:
    driver = tenant.driver
    location = next(loc for loc in driver.list_locations() if loc.name == "Demo")
    image = next(i for i in driver.list_images(location) if i.id == tenant.cloud.template)
    size = next(s for s in driver.list_sizes(location) if s.name == "Small Instance")
    return driver.create_node(name=name, size=size, image=image, location=location, **extra)


def _ssh_keygen(*args: str, stdin: str | None = None) -> str:
    """OpenSSH's ``ssh-keygen``: the independent reading of key material."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not present")
    ran = subprocess.run(
        ["ssh-keygen", *args], input=stdin, capture_output=True, text=True, check=True
    )
    return ran.stdout


def _md5_fingerprint(public_key: str) -> str:
    """4.1's fingerprint of an OpenSSH public key line (what ``ssh-keygen -E md5`` says)."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


# ---- the catalogue ---------------------------------------------------------------------


def test_locations_images_and_sizes_are_the_apis_zones_templates_and_offerings(
    tenant: Tenant,
) -> None:
    driver = tenant.driver
    locations = driver.list_locations()
    zones = tenant.cs.listZones()["zone"]
    assert [(loc.id, loc.name) for loc in locations] == [(z["id"], z["name"]) for z in zones]
    assert [loc.name for loc in locations] == ["Demo", "Demo Advanced"]

    images = {image.id: image for image in driver.list_images(locations[0])}
    executable = tenant.cs.listTemplates(templatefilter="executable", zoneid=zones[0]["id"])
    assert set(images) == {t["id"] for t in executable["template"]}
    image = images[tenant.cloud.template]
    assert image.name == "tiny-linux"
    assert image.extra["hypervisor"] == "Simulator" and image.extra["format"] == "QCOW2"
    assert image.extra["displaytext"] == "Tiny Linux" and image.extra["size"] == TEMPLATE_SIZE

    sizes = {size.id: size for size in driver.list_sizes(locations[0])}
    offerings = tenant.cs.listServiceOfferings()["serviceoffering"]
    assert {o["id"]: (o["name"], o["memory"]) for o in offerings} == {
        size.id: (size.name, size.ram) for size in sizes.values()
    }
    small = next(size for size in sizes.values() if size.name == "Small Instance")
    assert small.ram == 512 and small.extra["cpu"] == 1


# ---- key pairs -------------------------------------------------------------------------


def test_key_pairs_are_created_imported_listed_and_deleted(tenant: Tenant, tmp_path: Path) -> None:
    driver = tenant.driver
    created = driver.create_key_pair("lc-created")
    # The private key is returned once and is a real RSA key: OpenSSH derives its public
    # half, whose MD5 fingerprint is the one the server reported and stored.
    private = tmp_path / "created"
    private.write_text(created.private_key)
    private.chmod(0o600)
    derived = _ssh_keygen("-y", "-f", str(private)).strip()
    assert created.fingerprint == _md5_fingerprint(derived)

    generated = tmp_path / "imported"
    _ssh_keygen("-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "lc@example", "-f", str(generated))
    public = (tmp_path / "imported.pub").read_text().strip()
    imported = driver.import_key_pair_from_string("lc-imported", public)
    said = _ssh_keygen("-l", "-E", "md5", "-f", str(tmp_path / "imported.pub"))
    assert f"MD5:{imported.fingerprint} " in said
    assert imported.private_key is None

    listed = {pair.name: pair.fingerprint for pair in driver.list_key_pairs()}
    assert listed == {"lc-created": created.fingerprint, "lc-imported": imported.fingerprint}
    on_server = tenant.cs.listSSHKeyPairs()["sshkeypair"]
    assert {pair["name"]: pair["fingerprint"] for pair in on_server} == listed
    assert driver.get_key_pair("lc-imported").fingerprint == imported.fingerprint

    # Another tenant sees none of them and cannot delete them.
    other = tenant.cloud.libcloud(tenant.cloud.tenant("other"))
    assert other.list_key_pairs() == []
    with pytest.raises(KeyPairDoesNotExistError):
        other.get_key_pair("lc-created")

    assert driver.delete_key_pair(created) is True
    assert driver.delete_key_pair(imported) is True
    assert tenant.cs.listSSHKeyPairs() == {}
    with pytest.raises(KeyPairDoesNotExistError):
        driver.get_key_pair("lc-created")


# ---- nodes -----------------------------------------------------------------------------


def test_create_node_with_a_key_pair_reboot_and_destroy(tenant: Tenant, tmp_path: Path) -> None:
    driver = tenant.driver
    pair = driver.create_key_pair("lc-node-key")
    private = tmp_path / "node-key"
    private.write_text(pair.private_key)
    private.chmod(0o600)
    public = _ssh_keygen("-y", "-f", str(private)).split()
    with pytest.raises(ProviderError, match="keypair"):
        _create(tenant, "lc-keyless", ex_keyname="no-such-key", ex_start_vm=True)
    node = _create(tenant, "lc-keyed", ex_keyname="lc-node-key", ex_start_vm=True)
    assert node.name == "lc-keyed" and node.state == NodeState.RUNNING
    assert node.extra["key_name"] == "lc-node-key"
    assert node.extra["image_id"] == tenant.cloud.template
    vm = tenant.vm(node.id)
    assert vm["state"] == "Running" and vm["keypair"] == "lc-node-key"
    # The VM carries the pair's public key (for the guest): the half of the private key
    # Libcloud received, as OpenSSH reads it.
    kept = tenant.cloud.vm_ssh_public_key(node.id)
    assert kept is not None and kept.split()[:2] == public[:2]
    assert node.private_ips == [vm["nic"][0]["ipaddress"]]
    assert vm["account"] == tenant.cs.listAccounts()["account"][0]["name"]

    assert driver.reboot_node(node) is True
    assert tenant.vm(node.id)["state"] == "Running"
    rebooted = tenant.cs.listEvents(type="VM.REBOOT")["event"]
    assert any(event["state"] == "Completed" for event in rebooted), rebooted

    assert driver.destroy_node(node) is True
    assert tenant.vm(node.id)["state"] == "Destroyed"
    # 4.1 hides destroyed VMs from their (non-admin) owner.
    owned = tenant.cs.listVirtualMachines().get("virtualmachine", [])
    assert node.id not in {vm["id"] for vm in owned}
    assert driver.delete_key_pair(pair) is True


def test_create_node_leaves_it_stopped_by_default_until_started(tenant: Tenant) -> None:
    # Libcloud always sends startvm=False (a Python bool, "False") unless told otherwise.
    driver = tenant.driver
    node = _create(tenant, "lc-stopped")
    assert node.state == NodeState.STOPPED
    assert tenant.vm(node.id)["state"] == "Stopped"
    (root,) = tenant.cs.listVolumes(virtualmachineid=node.id)["volume"]
    assert root["type"] == "ROOT" and root["size"] == TEMPLATE_SIZE

    assert driver.ex_start(node) == "Running"
    assert tenant.vm(node.id)["state"] == "Running"
    assert driver.destroy_node(node) is True


def test_list_nodes(tenant: Tenant) -> None:
    node = _create(tenant, "lc-listed", ex_start_vm=True)
    (listed,) = [n for n in tenant.driver.list_nodes() if n.id == node.id]
    assert listed.name == "lc-listed" and listed.private_ips == node.private_ips


# ---- volumes ---------------------------------------------------------------------------


def test_volumes_are_created_attached_detached_and_destroyed(tenant: Tenant) -> None:
    driver = tenant.driver
    node = _create(tenant, "lc-disks", ex_start_vm=True)

    # 5 GB matches the "Small" offering; 3 GB matches none, so Libcloud takes the first
    # customized offering and sends the size.
    small = driver.create_volume(5, "lc-small")
    custom = driver.create_volume(3, "lc-custom")
    assert small.state == custom.state == StorageVolumeState.AVAILABLE
    for volume, gib, offering in ((small, 5, "Small"), (custom, 3, "Custom")):
        listed = tenant.volume(volume.id)
        assert listed["name"] == volume.name and listed["type"] == "DATADISK"
        assert listed["size"] == gib * GIB and listed["diskofferingname"] == offering
        assert listed["state"] == "Allocated" and "virtualmachineid" not in listed

    volumes = {volume.id: volume for volume in driver.list_volumes()}
    assert set(volumes) == {v["id"] for v in tenant.cs.listVolumes()["volume"]}
    assert volumes[small.id].size == 5 * GIB

    assert driver.attach_volume(node, small) is True
    attached = tenant.volume(small.id)
    assert attached["virtualmachineid"] == node.id and attached["deviceid"] == 1
    assert attached["state"] == "Ready"
    on_node = {volume.id: volume for volume in driver.list_volumes(node)}
    assert on_node[small.id].state == StorageVolumeState.INUSE
    assert {volume.extra["volume_type"] for volume in on_node.values()} == {"ROOT", "DATADISK"}

    assert driver.detach_volume(small) is True
    detached = tenant.volume(small.id)
    assert "virtualmachineid" not in detached and detached["state"] == "Ready"

    # Another tenant can neither see nor delete them.
    other = tenant.cloud.libcloud(tenant.cloud.tenant("other"))
    assert other.list_volumes() == []
    with pytest.raises(ProviderError):
        other.destroy_volume(small)

    assert driver.destroy_volume(small) is True
    assert driver.destroy_volume(custom) is True
    # Gone for Libcloud and for the API; the node keeps only its root volume.
    left = {volume.id for volume in driver.list_volumes()}
    assert left == {v["id"] for v in tenant.cs.listVolumes()["volume"]}
    assert not left & {small.id, custom.id}
    (root,) = tenant.cs.listVolumes(virtualmachineid=node.id)["volume"]
    assert root["type"] == "ROOT"
    assert driver.destroy_node(node) is True
