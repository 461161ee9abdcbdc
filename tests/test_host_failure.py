"""Issue 4's Must show: injecting a simulated host failure moves the host to Alert, then
Down, within the configured timeout and records an event; recovery moves it back to Up.

A real ``cumulo serve`` (gunicorn plus the job worker, whose background tasks run the
host heartbeat) on SQLite or MariaDB as ``CUMULO_TEST_DB`` says, ``ping.interval`` 1 s
and ``ping.timeout`` 2 (a multiplier: 2 s), a basic zone with a pod and a cluster of
simulated hosts built through the API, and the failure injected with
``configureSimulator`` — the simulator's state is a file shared by the server and this
test (``CUMULO_SIMULATOR_STATE``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cumulo.infra.hosts.models import Host
from cumulo.runtime import Runtime
from cumulo.testing.deployment import deploy_database, register_admin_keys
from cumulo_api.testing_server import COMPACT_ARGS, ServeProcess

MANAGEMENT_KEY = "host-failure-management-key"
DATABASE_KEY = "host-failure-database-key"
INTERVAL, MULTIPLIER = 1, 2
TIMEOUT = INTERVAL * MULTIPLIER
SETTINGS = {"ping.interval": str(INTERVAL), "ping.timeout": str(MULTIPLIER)}
SLACK = 8.0
"""Seconds allowed beyond the timeout for rounds, job polling and a loaded CI machine."""


class Server:
    """The running server, signed as the admin; failing calls fail the test."""

    def __init__(self, serve: ServeProcess) -> None:
        self.serve = serve

    def __call__(self, command: str, **params: Any) -> dict[str, Any]:
        status, envelope = self.serve.call(command, **params)
        if status != 200:
            pytest.fail(f"{command}: {status} {envelope!r}\n{self.serve.tail()}")
        if "jobid" in envelope and command != "queryAsyncJobResult":
            return self._job(str(envelope["jobid"]), command)
        return envelope

    def _job(self, job: str, command: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = self("queryAsyncJobResult", jobid=job)
            if answer["jobstatus"] == 1:
                return dict(answer["jobresult"])
            if answer["jobstatus"] == 2:
                pytest.fail(f"{command} failed: {answer['jobresult']}")
            time.sleep(0.1)
        pytest.fail(f"{command}: job {job} never finished\n{self.serve.tail()}")

    def host_state(self, host_id: str) -> str:
        (host,) = self("listHosts", id=host_id)["host"]
        return str(host["state"])


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    conf = tmp_path / "conf"
    deploy_database(
        database_url,
        conf,
        management_key=MANAGEMENT_KEY,
        database_key=DATABASE_KEY,
        settings=SETTINGS,
    )
    keys = register_admin_keys(database_url, DATABASE_KEY)
    env = {
        "CUMULO_CONF_DIR": str(conf),
        "CUMULO_SIMULATOR_STATE": str(tmp_path / "simulator.sqlite"),
    }
    with ServeProcess(
        *COMPACT_ARGS, log=tmp_path / "serve.log", env=env, keys=keys, start_timeout=90
    ) as serve:
        yield Server(serve)


def _basic_zone(call: Server) -> dict[str, str]:
    """Zone, pod and a Simulator cluster with two hosts, through the API; their ids."""
    zone = call(
        "createZone",
        name="z1",
        networktype="Basic",
        dns1="8.8.8.8",
        internaldns1="10.0.0.2",
    )["zone"]
    pod = call(
        "createPod",
        zoneid=zone["id"],
        name="p1",
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.2",
        endip="192.168.10.20",
    )["pod"]
    cluster = call(
        "addCluster",
        zoneid=zone["id"],
        podid=pod["id"],
        clustername="c1",
        hypervisor="Simulator",
        clustertype="CloudManaged",
    )["cluster"][0]
    ids = {"zone": zone["id"], "pod": pod["id"], "cluster": cluster["id"]}
    for name in ("h1", "h2"):
        (host,) = call(
            "addHost",
            zoneid=zone["id"],
            podid=pod["id"],
            clusterid=cluster["id"],
            hypervisor="Simulator",
            url=f"http://sim/c1/{name}",
            username="root",
            password="password",
        )["host"]
        ids[name] = host["id"]
    return ids


def _internal_id(database_url: str, host_uuid: str) -> int:
    """``configureSimulator`` scopes by internal ids, as 4.1's does."""
    runtime = Runtime.for_url(database_url, DATABASE_KEY)
    try:
        with runtime.sessions() as session:
            return int(session.scalars(select(Host.id).where(Host.uuid == host_uuid)).one())
    finally:
        runtime.close()


def _wait_for_state(call: Server, host: str, state: str, within: float) -> float:
    """Poll ``listHosts`` until ``host`` is ``state``; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if call.host_state(host) == state:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"host {host} not {state} within {within} s: {call.host_state(host)}")


def _host_events(call: Server) -> list[dict[str, Any]]:
    listed = call("listEvents", type="ALERT.COMPUTE.HOST", listall=True, page=1, pagesize=100)
    return list(listed.get("event", []))


def test_host_failure_alert_down_event_and_recovery(server: Server, database_url: str) -> None:
    ids = _basic_zone(server)
    silent, healthy = ids["h1"], ids["h2"]
    _wait_for_state(server, silent, "Up", SLACK)
    server(
        "configureSimulator",
        name="ping",
        hostid=_internal_id(database_url, silent),
        value="result:unreachable",
    )
    # Alert once silent for ping.interval * ping.timeout, Down a timeout after that.
    to_alert = _wait_for_state(server, silent, "Alert", TIMEOUT + SLACK)
    to_down = _wait_for_state(server, silent, "Down", TIMEOUT + SLACK)
    assert to_alert + to_down <= 2 * TIMEOUT + SLACK
    assert server.host_state(healthy) == "Up"  # the other host kept answering
    # listEvents lists the newest first: Down (ERROR), then Alert (WARN), both about h1.
    down, alert = _host_events(server)[:2]
    assert (down["level"], alert["level"]) == ("ERROR", "WARN")
    assert silent in down["description"] and "to Down" in down["description"]
    assert silent in alert["description"] and "to Alert" in alert["description"]

    server(
        "configureSimulator",
        name="ping",
        hostid=_internal_id(database_url, silent),
        value="clear",
    )
    _wait_for_state(server, silent, "Up", TIMEOUT + SLACK)
    newest = _host_events(server)[0]
    assert (newest["level"], newest["type"]) == ("INFO", "ALERT.COMPUTE.HOST")
    assert silent in newest["description"] and "to Up" in newest["description"]


def test_secondary_storage_is_listed_as_a_host(server: Server, tmp_path: Path) -> None:
    """``addSecondaryStorage`` shows in ``listHosts type=SecondaryStorage``."""
    zone = server(
        "createZone", name="z2", networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.2"
    )["zone"]
    store = server("addSecondaryStorage", zoneid=zone["id"], url=f"file://{tmp_path}")[
        "secondarystorage"
    ]
    listed = server("listHosts", type="SecondaryStorage")["host"]
    assert [(h["id"], h["type"], h["zoneid"]) for h in listed] == [
        (store["id"], "SecondaryStorage", zone["id"])
    ]
