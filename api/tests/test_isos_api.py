"""ISOs on VMs over the API (signed as 4.1 clients sign, jobs run by the job worker):
``attachIso``/``detachIso`` on running and stopped VMs of the demo zone (the simulator
hypervisor records what is in each VM's drive), a VM deployed from an ISO (4.1 wants a
disk offering for its root disk) with the ISO in its drive, and tenancy: another
account can neither touch the VM nor use a private ISO.

The ISO is registered from a real HTTP server on 127.0.0.1 into the demo zone's real
``file://`` store; the VMs run from the demo's built-in template.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from api_test_commands import make_caller
from sqlalchemy import select

from cumulo.compute.models import VirtualMachine
from cumulo.demo import ensure_demo_zone
from cumulo.runtime import Runtime
from cumulo.templates.lookup import iso_spec_for
from cumulo.templates.testing import TemplateServer
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

pytest.importorskip("cumulo_simulator")
from cumulo_simulator.hypervisor import SimulatorHypervisor

Keys = tuple[str, str]
ISO_BITS = b"CD001" + bytes(2043)


@pytest.fixture
def demo(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    with runtime.sessions() as session:
        runtime.config_store(session).set("secstorage.allowed.internal.sites", "127.0.0.0/8")
        session.commit()
    with TemplateServer({"/boot.iso": ISO_BITS}) as server:
        yield {"zone": zone, "server": server}


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    (answer,) = json.loads(result.content).values()
    return answer


def _job(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, command: str, **p: Any
) -> Any:
    started = _call(api, keys, command, **p)
    assert "jobid" in started, started
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    return _call(api, keys, "queryAsyncJobResult", jobid=started["jobid"])


def _iso(api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, demo: Any) -> str:
    os_type = _call(api, keys, "listOsTypes", description="CentOS 5.5 (64-bit)")["ostype"][0]
    (entry,) = _call(
        api, keys, "registerIso", name="boot", displaytext="boot", zoneid=demo["zone"],
        url=demo["server"].url("/boot.iso"), ostypeid=os_type["id"],
    )["iso"]  # fmt: skip
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    (listed,) = _call(api, keys, "listIsos", id=entry["id"], isofilter="self")["iso"]
    assert listed["status"] == "Download Complete" and listed["isready"] is True
    return str(entry["id"])


def _vm(api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, demo: Any, **p: Any) -> Any:
    (template,) = _call(api, keys, "listTemplates", templatefilter="featured")["template"]
    (offering,) = _call(api, keys, "listServiceOfferings", name="Small Instance")["serviceoffering"]
    params = {"templateid": template["id"], **p}
    job = _job(
        api, runtime, keys, "deployVirtualMachine", zoneid=demo["zone"],
        serviceofferingid=offering["id"], **params,
    )  # fmt: skip
    assert job["jobstatus"] == 1, job
    return job["jobresult"]["virtualmachine"]


def _drive(runtime: Runtime, vm_uuid: str) -> str | None:
    with runtime.sessions() as session:
        name = session.scalars(
            select(VirtualMachine.instance_name).where(VirtualMachine.uuid == vm_uuid)
        ).one()
    return SimulatorHypervisor().attached_iso(name)


def test_attach_and_detach_an_iso_on_a_running_vm(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, demo: Any
) -> None:
    iso = _iso(api, runtime, user_keys, demo)
    vm = _vm(api, runtime, user_keys, demo)
    assert vm["state"] == "Running" and "isoid" not in vm

    attached = _job(api, runtime, user_keys, "attachIso", id=iso, virtualmachineid=vm["id"])
    assert attached["jobstatus"] == 1, attached
    shown = attached["jobresult"]["virtualmachine"]
    assert (shown["isoid"], shown["isoname"]) == (iso, "boot")
    assert _drive(runtime, vm["id"]) == iso  # the hypervisor has it in the drive

    again = _job(api, runtime, user_keys, "attachIso", id=iso, virtualmachineid=vm["id"])
    assert again["jobstatus"] == 2 and "detach it first" in again["jobresult"]["errortext"]

    detached = _job(api, runtime, user_keys, "detachIso", virtualmachineid=vm["id"])
    assert detached["jobstatus"] == 1, detached
    assert "isoid" not in detached["jobresult"]["virtualmachine"]
    assert _drive(runtime, vm["id"]) is None
    nothing = _job(api, runtime, user_keys, "detachIso", virtualmachineid=vm["id"])
    assert nothing["jobstatus"] == 2 and "no ISO attached" in nothing["jobresult"]["errortext"]
    (listed,) = _call(api, user_keys, "listVirtualMachines", id=vm["id"])["virtualmachine"]
    assert "isoid" not in listed


def test_an_iso_attached_to_a_stopped_vm_is_only_recorded(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, demo: Any
) -> None:
    iso = _iso(api, runtime, admin_keys, demo)
    vm = _vm(api, runtime, admin_keys, demo, startvm="false")
    assert vm["state"] == "Stopped"
    attached = _job(api, runtime, admin_keys, "attachIso", id=iso, virtualmachineid=vm["id"])
    assert attached["jobresult"]["virtualmachine"]["isoid"] == iso
    assert _drive(runtime, vm["id"]) is None  # nothing runs: nothing to insert into
    (listed,) = _call(api, admin_keys, "listVirtualMachines", id=vm["id"])["virtualmachine"]
    assert listed["isoid"] == iso
    # What its next start presents in the drive: the ISO's bits on the zone's store.
    with runtime.sessions() as session:
        row = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == vm["id"])).one()
        spec = iso_spec_for(session, row.iso_id, row.data_center_id)
    assert spec is not None and spec.uuid == iso and spec.size_bytes == len(ISO_BITS)
    assert spec.url.startswith("file:///") and Path(spec.url[len("file://") :]).is_file()


def test_a_template_is_not_an_iso(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, demo: Any
) -> None:
    vm = _vm(api, runtime, admin_keys, demo)
    template = vm["templateid"]
    refused = _job(api, runtime, admin_keys, "attachIso", id=template, virtualmachineid=vm["id"])
    assert refused["jobstatus"] == 2
    assert (
        refused["jobresult"]["errorcode"] == 431
        and "not an ISO" in refused["jobresult"]["errortext"]
    )


def test_another_account_can_neither_touch_the_vm_nor_use_a_private_iso(
    api: falcon.testing.TestClient, runtime: Runtime, demo: Any
) -> None:
    alice, bob = make_caller(runtime, "alice", 0), make_caller(runtime, "bob", 0)
    alice_iso = _iso(api, runtime, alice, demo)
    alice_vm = _vm(api, runtime, alice, demo)
    bob_vm = _vm(api, runtime, bob, demo)

    on_her_vm = _job(api, runtime, bob, "attachIso", id=alice_iso, virtualmachineid=alice_vm["id"])
    assert on_her_vm["jobstatus"] == 2 and on_her_vm["jobresult"]["errorcode"] == 531
    her_iso = _job(api, runtime, bob, "attachIso", id=alice_iso, virtualmachineid=bob_vm["id"])
    assert her_iso["jobstatus"] == 2 and her_iso["jobresult"]["errorcode"] == 431
    assert "id" in her_iso["jobresult"]["errortext"]
    assert _call(api, bob, "listIsos", isofilter="executable").get("iso", []) == []
    # Alice's own attach works, and Bob cannot detach it.
    ok = _job(api, runtime, alice, "attachIso", id=alice_iso, virtualmachineid=alice_vm["id"])
    assert ok["jobstatus"] == 1
    theirs = _job(api, runtime, bob, "detachIso", virtualmachineid=alice_vm["id"])
    assert theirs["jobstatus"] == 2 and theirs["jobresult"]["errorcode"] == 531
    assert _drive(runtime, alice_vm["id"]) == alice_iso


def test_deploy_from_an_iso_needs_a_disk_offering_and_boots_with_it(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, demo: Any
) -> None:
    iso = _iso(api, runtime, user_keys, demo)
    (offering,) = _call(api, user_keys, "listServiceOfferings", name="Small Instance")[
        "serviceoffering"
    ]
    refused = _call(
        api, user_keys, "deployVirtualMachine", zoneid=demo["zone"], templateid=iso,
        serviceofferingid=offering["id"],
    )  # fmt: skip
    assert refused["errorcode"] == 431 and "diskofferingid" in refused["errortext"]

    disks = _call(api, user_keys, "listDiskOfferings")["diskoffering"]
    small = next(d for d in disks if not d["iscustomized"])
    vm = _vm(api, runtime, user_keys, demo, templateid=iso, diskofferingid=small["id"])
    assert vm["state"] == "Running" and vm["isoid"] == iso and "templateid" not in vm
    (root,) = _call(api, user_keys, "listVolumes", virtualmachineid=vm["id"])["volume"]
    assert root["type"] == "ROOT" and root["size"] == small["disksize"] * 2**30
