"""The README's run command gives a cloud with simulated hosts (issue 4, "Must show").

``./dev run`` is ``cumulo serve --embedded`` with ``CUMULO_CONF_DIR`` set: this test
starts exactly that on a fresh configuration directory, registers the admin's API keys
over HTTP (login, registerUserKeys) and looks at the cloud with the unchanged ``cs``
client: the demo zone, its four simulated hosts Up, its primary storage and capacity.
The cloud is ready to deploy a VM (REQ-INIT-02/03): the zone's built-in template shows
``Download Complete``, and ``cs`` deploys from it with the seeded Small Instance
offering, following the job to a Running VM. A second start reuses the deployment and
leaves the demo zone as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cs import CloudStack

from cumulo_api.testing_server import COMPACT_ARGS, ServeProcess

START_TIMEOUT = 120.0  # the first start migrates a new SQLite database and builds the zone
GIB = 2**30
# The demo's hosts (cumulo.demo.HOST_URLS): cores x MHz and memory.
HOST_CPU_MHZ = 16 * 2400 + 8 * 2400 + 4 * 2000 + 4 * 3000
HOST_MEMORY = (64 + 32 + 16 + 8) * GIB


def _serve(scratch: Path, log: str) -> ServeProcess:
    """``./dev run``'s command on ``scratch/conf``; the simulator state is left to it
    (an empty ``CUMULO_SIMULATOR_STATE`` counts as unset)."""
    return ServeProcess(
        *COMPACT_ARGS,
        "--embedded",
        log=scratch / log,
        env={"CUMULO_CONF_DIR": str(scratch / "conf"), "CUMULO_SIMULATOR_STATE": ""},
        start_timeout=START_TIMEOUT,
    )


def _admin_keys(api: str) -> tuple[str, str]:
    """Log in as admin/password (the embedded default) and register the admin's keys."""
    with requests.Session() as http:
        login = {"username": "admin", "password": "password", "domain": "/", "response": "json"}
        answer = http.post(api, data={"command": "login", **login}, timeout=30)
        assert answer.status_code == 200, answer.text
        session = {"sessionkey": answer.json()["loginresponse"]["sessionkey"], "response": "json"}

        def call(command: str, **params: str) -> dict[str, Any]:
            reply = http.get(api, params={"command": command, **session, **params}, timeout=30)
            assert reply.status_code == 200, f"{command}: {reply.text}"
            body: dict[str, Any] = reply.json()[f"{command.lower()}response"]
            return body

        (admin,) = call("listUsers", username="admin", listall="true")["user"]
        keys = call("registerUserKeys", id=admin["id"])["userkeys"]
        call("logout")
    return str(keys["apikey"]), str(keys["secretkey"])


@dataclass(frozen=True)
class FirstRun:
    """The first ``cumulo serve --embedded`` on a new configuration directory."""

    scratch: Path
    server: ServeProcess
    cs: CloudStack


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    scratch = tmp_path_factory.mktemp("demo")
    with _serve(scratch, "first.log") as server:
        key, secret = _admin_keys(server.api_url)
        yield FirstRun(scratch, server, CloudStack(endpoint=server.api_url, key=key, secret=secret))


def test_the_run_command_creates_the_embedded_cloud_with_the_demo_zone(
    first_run: FirstRun,
) -> None:
    scratch = first_run.scratch
    data = scratch / "data"
    assert (scratch / "conf" / "db.properties").is_file()
    assert (data / "cloud.db").is_file()
    # The simulator's state and the secondary storage follow the embedded data dir.
    assert (data / "simulator.sqlite").is_file()
    assert (data / "secondary").is_dir()
    log = (scratch / "first.log").read_text()
    assert "Demo zone Demo" in log and "added host demo-host4" in log


def test_cs_lists_the_demo_zone_hosts_pool_and_capacity(
    first_run: FirstRun,
) -> None:
    cs = first_run.cs
    (zone,) = cs.listZones(name="Demo")["zone"]
    assert (zone["name"], zone["networktype"]) == ("Demo", "Basic")
    assert zone["securitygroupsenabled"] is True
    assert zone["allocationstate"] == "Enabled"

    routing = cs.listHosts(zoneid=zone["id"], type="Routing")["host"]
    assert sorted(host["name"] for host in routing) == [f"demo-host{i}" for i in (1, 2, 3, 4)]
    for host in routing:
        assert (host["state"], host["hypervisor"]) == ("Up", "Simulator"), host
        assert host["clustername"] == "Demo Cluster" and host["podname"] == "Demo Pod"
    assert sum(h["cpunumber"] * h["cpuspeed"] for h in routing) == HOST_CPU_MHZ
    assert sum(h["memorytotal"] for h in routing) == HOST_MEMORY
    (store,) = cs.listHosts(zoneid=zone["id"], type="SecondaryStorage")["host"]
    assert store["name"].startswith("file:///") and store["name"].endswith("/data/secondary")

    (pool,) = cs.listStoragePools(zoneid=zone["id"])["storagepool"]
    assert (pool["name"], pool["state"], pool["clustername"]) == (
        "Demo Primary",
        "Up",
        "Demo Cluster",
    )
    assert pool["disksizetotal"] == 2 * 1024 * GIB

    capacity = {row["type"]: row for row in cs.listCapacity(zoneid=zone["id"])["capacity"]}
    assert capacity[0]["capacitytotal"] == HOST_MEMORY  # memory
    assert capacity[1]["capacitytotal"] == HOST_CPU_MHZ  # CPU
    assert capacity[2]["capacitytotal"] == 2 * 1024 * GIB  # primary storage
    for row in capacity.values():
        assert row["zoneid"] == zone["id"] and row["zonename"] == "Demo"


def test_cs_deploys_a_vm_from_the_builtin_template_right_away(first_run: FirstRun) -> None:
    cs = first_run.cs
    (zone,) = cs.listZones(name="Demo")["zone"]
    # REQ-INIT-02: the built-in template is downloaded to the zone's secondary storage.
    (template,) = cs.listTemplates(templatefilter="featured", zoneid=zone["id"])["template"]
    assert template["name"] == "CentOS 5.3(64-bit) no GUI (Simulator)"
    assert (template["status"], template["isready"]) == ("Download Complete", True)
    assert template["hypervisor"] == "Simulator" and template["templatetype"] == "BUILTIN"
    (offering,) = cs.listServiceOfferings(name="Small Instance")["serviceoffering"]

    # cs follows the job (queryAsyncJobResult until it ends, raising if it failed) and
    # answers its result, as its users run it.
    following = CloudStack(
        endpoint=first_run.server.api_url,
        key=cs.key,
        secret=cs.secret,
        fetch_result=True,
        poll_interval=0.2,
        job_timeout=120,
    )
    result = following.deployVirtualMachine(
        zoneid=zone["id"], templateid=template["id"], serviceofferingid=offering["id"],
        name="first-vm",
    )  # fmt: skip
    vm = result["virtualmachine"]
    assert (vm["name"], vm["state"], vm["templateid"]) == ("first-vm", "Running", template["id"])
    assert vm["hostname"].startswith("demo-host") and vm["nic"][0]["ipaddress"].startswith(
        "192.168.100."
    )
    (listed,) = cs.listVirtualMachines(id=vm["id"])["virtualmachine"]
    assert listed["state"] == "Running"


def test_a_later_run_reuses_the_deployment_and_keeps_the_demo_zone(
    first_run: FirstRun,
) -> None:
    scratch = first_run.scratch
    before = first_run.cs.listZones()["zone"]
    assert first_run.server.stop() == 0  # Ctrl-C, then ./dev run again
    with _serve(scratch, "second.log") as again:
        key, secret = _admin_keys(again.api_url)
        after = CloudStack(endpoint=again.api_url, key=key, secret=secret).listZones()["zone"]
    log = (scratch / "second.log").read_text()
    assert "Using the existing embedded deployment" in log
    assert "Demo zone" not in log  # the demo ran only on creation
    assert [z["id"] for z in after] == [z["id"] for z in before]
