"""Domain XML rendered from a VM's plan, and NICs put on bridges (no libvirt needed).

REQ-KVM-02 (Open vSwitch), REQ-KVM-05 (bridges named by traffic labels, cloudbr0 and
cloudbr1 by default), the console ports 5900-6100 of §40.5, virtio disks, a serial
console logged to a file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from cumulo_kvm.domain_xml import (
    DiskPlan,
    DomainPlan,
    NicPlan,
    device_id_of,
    disk_target,
    read_domain,
    render,
    with_vnc_port,
)
from cumulo_kvm.hosturl import HostOptions
from cumulo_kvm.networks import nic_plans, vlan_of

from cumulo.sdk import NicSpec, OperationFailed


def _plan(**changes: object) -> DomainPlan:
    values: dict[str, object] = {
        "name": "i-2-10-VM",
        "uuid": "8c6a4f0e-3d5b-4b7a-9d2e-1f0a3b4c5d6e",
        "domain_type": "kvm",
        "memory_bytes": 512 * 1024**2,
        "vcpus": 2,
        "cpu_shares": 2 * 1000,
        "disks": (
            DiskPlan("vda", "file", "/mnt/p1/root", "qcow2", "8c6a4f0e3d5b4b7a9d2e"),
            DiskPlan("vdb", "block", "/dev/vg0/data", "raw"),
        ),
        "nics": (NicPlan("06:00:00:00:00:01", "cloudbr1"),),
        "vnc_port": 5901,
        "vnc_password": "abcdefghijklmnop",
        "description": "CentOS 5.5 (64-bit)",
    }
    values.update(changes)
    return DomainPlan(**values)  # type: ignore[arg-type]


def test_a_vm_renders_with_its_cpus_shares_memory_disks_nic_console_and_serial() -> None:
    root = ET.fromstring(render(_plan()))
    assert root.get("type") == "kvm"
    assert (root.findtext("name"), root.findtext("uuid")) == (
        "i-2-10-VM",
        "8c6a4f0e-3d5b-4b7a-9d2e-1f0a3b4c5d6e",
    )
    assert root.findtext("memory") == str(512 * 1024) and root.find("memory").get("unit") == "KiB"
    assert root.findtext("vcpu") == "2" and root.findtext("cputune/shares") == "2000"
    assert root.findtext("description") == "CentOS 5.5 (64-bit)"
    assert [b.get("dev") for b in root.findall("os/boot")] == ["hd"]
    disks = root.findall("devices/disk")
    assert [(d.get("type"), d.get("device"), d.find("target").get("dev")) for d in disks] == [
        ("file", "disk", "vda"),
        ("block", "disk", "vdb"),
        ("file", "cdrom", "hdc"),  # an empty drive, so an ISO can be inserted live
    ]
    assert {d.find("target").get("bus") for d in disks[:2]} == {"virtio"}
    assert disks[0].find("source").get("file") == "/mnt/p1/root"
    assert disks[0].find("driver").get("type") == "qcow2" and disks[0].findtext("serial")
    assert disks[1].find("source").get("dev") == "/dev/vg0/data"
    assert disks[2].find("source") is None and disks[2].find("readonly") is not None
    (nic,) = root.findall("devices/interface")
    assert nic.get("type") == "bridge" and nic.find("source").get("bridge") == "cloudbr1"
    assert nic.find("mac").get("address") == "06:00:00:00:00:01"
    assert nic.find("model").get("type") == "virtio" and nic.find("virtualport") is None
    graphics = root.find("devices/graphics")
    assert (graphics.get("type"), graphics.get("port"), graphics.get("autoport")) == (
        "vnc",
        "5901",
        "no",
    )
    assert graphics.get("listen") == "0.0.0.0"
    # VNC authentication uses 8 characters: libvirt refuses more.
    assert graphics.get("passwd") == "abcdefgh"
    serial = root.find("devices/serial")
    assert serial.get("type") == "pty"
    assert serial.find("log").get("file") == "/var/log/libvirt/qemu/i-2-10-VM-serial.log"
    assert root.find("devices/console/target").get("type") == "serial"


def test_an_iso_deployment_boots_from_the_cdrom_first() -> None:
    root = ET.fromstring(render(_plan(cdrom="/mnt/p1/boot.iso", boot_cdrom=True)))
    assert [b.get("dev") for b in root.findall("os/boot")] == ["cdrom", "hd"]
    cdrom = root.find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").get("file") == "/mnt/p1/boot.iso"


def test_software_emulation_is_the_qemu_domain_type() -> None:
    assert ET.fromstring(render(_plan(domain_type="qemu"))).get("type") == "qemu"


def test_an_rbd_disk_is_a_network_disk_with_its_monitors_and_secret() -> None:
    rbd = DiskPlan(
        "vda",
        "network",
        "cloudstack/vol-1",
        "raw",
        hosts=(("ceph-mon1", 6789),),
        auth_user="admin",
        secret_uuid="11111111-2222-3333-4444-555555555555",
    )
    disk = ET.fromstring(render(_plan(disks=(rbd,)))).find("devices/disk")
    source = disk.find("source")
    assert (source.get("protocol"), source.get("name")) == ("rbd", "cloudstack/vol-1")
    assert [(h.get("name"), h.get("port")) for h in source.findall("host")] == [
        ("ceph-mon1", "6789")
    ]
    assert disk.find("auth").get("username") == "admin"
    assert disk.find("auth/secret").get("uuid") == "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("port", [5899, 6101])
def test_the_console_port_stays_in_5900_6100(port: int) -> None:
    with pytest.raises(ValueError, match="5900-6100"):
        render(_plan(vnc_port=port))


def test_disk_targets_follow_device_ids_both_ways() -> None:
    assert [disk_target(i) for i in (0, 1, 3, 25, 26)] == ["vda", "vdb", "vdd", "vdz", "vdaa"]
    assert [device_id_of(disk_target(i)) for i in range(60)] == list(range(60))
    assert device_id_of("hdc") is None and device_id_of("vd") is None


def test_the_live_xml_reads_back_disks_and_console_and_moves_the_port() -> None:
    xml = render(_plan())
    live = read_domain(xml)
    assert [(d.target, d.device, d.source) for d in live.disks] == [
        ("vda", "disk", "/mnt/p1/root"),
        ("vdb", "disk", "/dev/vg0/data"),
        ("hdc", "cdrom", ""),
    ]
    assert (live.vnc_port, live.vnc_password) == (5901, "abcdefgh")
    assert read_domain(with_vnc_port(xml, 6000)).vnc_port == 6000


@dataclass(frozen=True)
class LabelledNic(NicSpec):
    """A NIC as the networking work will describe it: traffic type and label."""

    traffic_type: str = "Guest"
    network_label: str = ""


def _nic(broadcast: str = "", device: int = 0, **extra: str) -> NicSpec:
    return LabelledNic(
        f"06:00:00:00:00:0{device}", broadcast_uri=broadcast, device_id=device, **extra
    )


NATIVE = HostOptions("qemu+tcp://h/system", "h")
OVS = HostOptions("qemu+tcp://h/system", "h", bridge_type="openvswitch")


def test_nics_use_the_traffic_label_else_the_hosts_bridge_for_the_traffic() -> None:
    nics = (
        _nic("vlan://untagged", 0),
        _nic("", 1, traffic_type="Public"),
        _nic("", 2, traffic_type="Management"),
        _nic("vlan://untagged", 3, network_label="guestbr7"),
    )
    assert [n.bridge for n in nic_plans(nics, NATIVE)] == [
        "cloudbr1",
        "cloudbr0",
        "cloudbr1",
        "guestbr7",
    ]
    # A NIC without traffic fields (today's NicSpec) is a guest NIC.
    plain = NicSpec("06:00:00:00:00:09", broadcast_uri="vlan://untagged")
    assert nic_plans((plain,), HostOptions("u", "h", guest_bridge="guest0"))[0].bridge == "guest0"


def test_a_vlan_is_its_own_bridge_natively_and_a_tag_on_open_vswitch() -> None:
    nic = _nic("vlan://100", network_label="cloudbr1")
    (native,) = nic_plans((nic,), NATIVE)
    assert (native.bridge, native.vlan, native.openvswitch) == ("cloudVirBr100", None, False)
    (ovs,) = nic_plans((nic,), OVS)
    assert (ovs.bridge, ovs.vlan, ovs.openvswitch) == ("cloudbr1", 100, True)
    interface = ET.fromstring(render(_plan(nics=(ovs,)))).find("devices/interface")
    assert interface.find("virtualport").get("type") == "openvswitch"
    assert interface.find("vlan/tag").get("id") == "100"


def test_nics_come_in_device_order() -> None:
    plans = nic_plans((_nic("", 2), _nic("", 0), _nic("", 1)), NATIVE)
    assert [p.mac for p in plans] == ["06:00:00:00:00:00", "06:00:00:00:00:01", "06:00:00:00:00:02"]


@pytest.mark.parametrize(
    ("uri", "vlan"), [("", None), ("vlan://untagged", None), ("vlan://4094", 4094), ("VLAN://7", 7)]
)
def test_vlans_of_broadcast_uris(uri: str, vlan: int | None) -> None:
    assert vlan_of(uri) == vlan


@pytest.mark.parametrize("uri", ["vlan://0", "vlan://4095", "vlan://x", "lswitch://1"])
def test_unusable_broadcast_uris_are_refused(uri: str) -> None:
    with pytest.raises(OperationFailed):
        vlan_of(uri)
