"""Issue 5's Must show "A simulated host failure restarts HA VMs elsewhere", end to end.

A real ``cumulo serve`` (gunicorn plus the job worker, whose host heartbeat takes a
silent host Up → Alert → Down in real time: ``ping.interval`` 1 s, ``ping.timeout`` 2)
on SQLite or MariaDB as ``CUMULO_TEST_DB`` says, the demo zone of simulated hosts, VMs
deployed over HTTP with ``hostid``, and the failure injected with ``configureSimulator``
(the simulator's state is a file shared by the server and this test). HA rounds run
from this process as a second management server on the same database (the server runs
its own once the HA periodic task is registered; the rounds are safe to run from
several servers at once): the assertions are on what the API shows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_host_failure import Server

import cumulo.ha.commands
from cumulo.demo import ensure_demo_zone
from cumulo.infra.hosts.models import Host, HostType
from cumulo.plugins import get_plugin_manager
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo.testing.deployment import deploy_database, register_admin_keys
from cumulo_api.testing_server import COMPACT_ARGS, ServeProcess

pytest.importorskip("cumulo_simulator")

MANAGEMENT_KEY = "ha-restart-management-key"
DATABASE_KEY = "ha-restart-database-key"
SETTINGS = {"ping.interval": "1", "ping.timeout": "2"}
DEADLINE = 60.0
GIB = 2**30


def _runtime(database_url: str) -> Runtime:
    """A runtime of this process on the server's database, with HA's settings."""
    pm = get_plugin_manager()
    if not pm.has_plugin("cumulo.ha.commands"):
        pm.register(cumulo.ha.commands, name="cumulo.ha.commands")
    runtime = Runtime.for_url(database_url, DATABASE_KEY, pm=pm)
    runtime.msid = 424242
    return runtime


def _template(runtime: Runtime) -> str:
    """A public Simulator template downloaded in the demo zone (its uuid)."""
    from cumulo.accounts.models import Account
    from cumulo.infra.models import Zone

    with runtime.sessions.begin() as session:
        zone = session.scalars(select(Zone).where(Zone.name == "Demo")).one()
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).first()
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        template = VMTemplate(
            name="tiny", display_text="tiny", format="QCOW2", hypervisor_type="Simulator",
            account_id=admin.id, domain_id=admin.domain_id, public=True, featured=True,
            size=2 * GIB,
        )  # fmt: skip
        session.add(template)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=template.id, zone_id=zone.id, store_id=store.id if store else None,
                download_state=DownloadState.DOWNLOADED.value, download_pct=100,
                size=2 * GIB, install_path="template/tmpl/2/tiny.qcow2",
            )
        )  # fmt: skip
        return template.uuid


@pytest.fixture
def cloud(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, Runtime, str]]:
    """The server, this process's runtime on its database, and the template."""
    conf = tmp_path / "conf"
    state = tmp_path / "simulator.sqlite"
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(state))
    deploy_database(
        database_url, conf, management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY,
        settings=SETTINGS,
    )  # fmt: skip
    runtime = _runtime(database_url)
    ensure_demo_zone(runtime, tmp_path / "data")
    template = _template(runtime)
    keys = register_admin_keys(database_url, DATABASE_KEY)
    env = {"CUMULO_CONF_DIR": str(conf), "CUMULO_SIMULATOR_STATE": str(state)}
    try:
        with ServeProcess(
            *COMPACT_ARGS, log=tmp_path / "serve.log", env=env, keys=keys, start_timeout=90
        ) as serve:
            yield Server(serve), runtime, template
    finally:
        runtime.close()


def _hosts(call: Server) -> dict[str, dict[str, Any]]:
    listed = call("listHosts", type="Routing")["host"]
    return {str(h["name"]): h for h in listed}


def _vm(call: Server, vm_id: str) -> dict[str, Any]:
    (vm,) = call("listVirtualMachines", id=vm_id, listall="true")["virtualmachine"]
    return dict(vm)


def _internal_id(runtime: Runtime, host_uuid: str) -> int:
    with runtime.sessions() as session:
        return int(session.scalars(select(Host.id).where(Host.uuid == host_uuid)).one())


def test_a_simulated_host_failure_restarts_ha_vms_elsewhere(
    cloud: tuple[Server, Runtime, str],
) -> None:
    from cumulo.ha.task import run_ha_round

    call, runtime, template = cloud
    (zone,) = call("listZones")["zone"]
    small = next(
        o for o in call("listServiceOfferings")["serviceoffering"] if o["name"] == "Small Instance"
    )
    ha = call(
        "createServiceOffering", name="HA Small", displaytext="HA", cpunumber=1, cpuspeed=500,
        memory=512, offerha="true",
    )["serviceoffering"]  # fmt: skip
    hosts = _hosts(call)
    failing = hosts["demo-host2"]
    common = {"zoneid": zone["id"], "templateid": template, "hostid": failing["id"]}
    ha_vm = call("deployVirtualMachine", serviceofferingid=ha["id"], name="ha-1", **common)
    plain_vm = call("deployVirtualMachine", serviceofferingid=small["id"], name="plain-1", **common)
    ha_id, plain_id = ha_vm["virtualmachine"]["id"], plain_vm["virtualmachine"]["id"]
    assert _vm(call, ha_id)["hostid"] == failing["id"] == _vm(call, plain_id)["hostid"]
    hosts = _hosts(call)  # as deployed
    used = int(hosts["demo-host2"]["memoryallocated"])
    assert used == 2 * 512 * 2**20

    call("configureSimulator", name="ping", hostid=_internal_id(runtime, failing["id"]),
         value="result:unreachable")  # fmt: skip
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        run_ha_round(runtime)  # this process as a second management server
        if _vm(call, ha_id)["state"] == "Running" and _vm(call, ha_id)["hostid"] != failing["id"]:
            break
        time.sleep(0.5)
    moved, stopped = _vm(call, ha_id), _vm(call, plain_id)
    assert _hosts(call)["demo-host2"]["state"] == "Down"
    assert moved["state"] == "Running" and moved["hostid"] != failing["id"], moved
    assert stopped["state"] == "Stopped" and "hostid" not in stopped
    # Capacity: the failed host carries neither VM any more; the new one carries one.
    after = _hosts(call)
    assert int(after["demo-host2"]["memoryallocated"]) == used - 2 * 512 * 2**20
    new_host = next(h for h in after.values() if h["id"] == moved["hostid"])
    before_new = next(h for h in hosts.values() if h["id"] == moved["hostid"])
    assert int(new_host["memoryallocated"]) == int(before_new["memoryallocated"]) + 512 * 2**20
    # Events: the restart is a VM.START naming HA; both VMs' VM.STOP say the host is Down.
    starts = call("listEvents", type="VM.START", listall="true")["event"]
    assert any(e["description"].startswith("HA: restarted") and ha_id in e["description"]
               for e in starts)  # fmt: skip
    stops = call("listEvents", type="VM.STOP", listall="true")["event"]
    for vm_id in (ha_id, plain_id):
        assert any(vm_id in e["description"] and "is Down" in e["description"] for e in stops)
    alerts = call("listAlerts", type="8")["alert"]
    assert any("stopped unexpectedly" in a["description"] and plain_id in a["description"]
               for a in alerts)  # fmt: skip
