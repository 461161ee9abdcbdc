"""URL forms and the VmSpec → vSphere configuration mapping (no vCenter needed)."""

from __future__ import annotations

import pytest
from cumulo_vmware import vmconfig
from cumulo_vmware.storage import VmwareStorage
from cumulo_vmware.vcenter import parse_url
from cumulo_vmware.vmomi import vim

from cumulo.sdk import InvalidStorageUrl, NicSpec, OperationFailed, VmSpec, VolumeSpec


def test_cluster_and_host_urls_round_trip() -> None:
    """REQ-CL-03: addCluster's https://vcenter/dc/cluster and each host's URL."""
    cluster = parse_url("https://vc.example:8443/DC0/DC0_C0", host=False)
    assert (cluster.server, cluster.port, cluster.datacenter, cluster.cluster) == (
        "vc.example",
        8443,
        "DC0",
        "DC0_C0",
    )
    host = parse_url(cluster.host_url("host-34"), host=True)
    assert host.host_mor == "host-34" and host.cluster_url == cluster.cluster_url
    assert parse_url("http://vc/DC%20A/C1", host=False).datacenter == "DC A"


@pytest.mark.parametrize(
    "url", ["https://vc/DC0", "https://vc/DC0/C0/host-1/extra", "ftp://vc/DC0/C0", "https:///a/b"]
)
def test_bad_cluster_urls_are_refused(url: str) -> None:
    with pytest.raises(OperationFailed, match="vCenter"):
        parse_url(url, host=False)


def test_pool_urls() -> None:
    """VMFS /datacenter/datastore form and NFS; anything else is a clear refusal."""
    storage = VmwareStorage()
    assert storage.validate_url("vmfs://vc/DC0/LocalDS_0", {}).path == "/DC0/LocalDS_0"
    assert storage.validate_url("nfs://10.0.0.5/export/primary", {}).host == "10.0.0.5"
    for bad in ("vmfs://vc/LocalDS_0", "iscsi://t/iqn/1", "nfs:///export"):
        with pytest.raises(InvalidStorageUrl):
            storage.validate_url(bad, {})


def test_config_spec_maps_cpu_memory_disks_nics_and_console() -> None:
    spec = VmSpec(
        name="i-2-10-VM",
        uuid="6e1b0d0c-0000-4000-8000-000000000010",
        cpus=2,
        cpu_speed_mhz=1000,
        memory_bytes=512 * 1024**2,
        volumes=tuple(
            VolumeSpec(uuid=f"v{i}", path=f"[ds] cumulo/v{i}.vmdk", size_bytes=1024**3)
            for i in range(9)
        ),
        nics=(NicSpec(mac_address="06:00:00:00:00:01", broadcast_uri="vlan://100"),),
        vnc_password="secret",
        details={"nicAdapter": "E1000"},
    )
    # NIC devices read their network's name from vCenter: the end-to-end test checks them.
    nics = spec.nics
    spec = VmSpec(**{**spec.__dict__, "nics": ()})
    config = vmconfig.config_spec(spec, "ds", [v.path for v in spec.volumes], [], 5901)
    assert (config.numCPUs, config.memoryMB, config.cpuAllocation.limit) == (2, 512, 2000)
    devices = [change.device for change in config.deviceChange]
    disks = [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
    assert [d.unitNumber for d in disks] == [0, 1, 2, 3, 4, 5, 6, 8, 9]  # 7 is the controller's
    assert isinstance(devices[0], vim.vm.device.VirtualLsiLogicController)
    extra = {o.key: o.value for o in config.extraConfig}
    assert extra[vmconfig.UUID_KEY] == spec.uuid
    assert extra[vmconfig.VNC_PORT_KEY] == "5901"
    assert vmconfig.port_group(nics[0], {}) == "VM Network.100"
    assert (
        vmconfig.port_group(NicSpec("06:00:00:00:00:02"), {vmconfig.PORT_GROUP_DETAIL: "pg"})
        == "pg"
    )


def test_unknown_controller_is_refused() -> None:
    with pytest.raises(OperationFailed, match="rootDiskController"):
        vmconfig.controller_type({"rootDiskController": "ide"})
