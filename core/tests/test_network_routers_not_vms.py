"""Router system VMs are ``vm_instance`` rows, but never user VMs: listVirtualMachines
does not show them, the VM commands cannot touch them, and they count against no
account limit (4.1). Needs the compute filters of /tmp/net6a-shared.diff."""

from __future__ import annotations

from pathlib import Path

import falcon.testing
import pytest
from sqlalchemy import select
from test_network_offerings_api import Cloud, make_caller
from test_network_routers_lifecycle import _ensure, make_isolated_network

from cumulo.compute.counters import count_vms
from cumulo.runtime import Runtime

pytest.importorskip("cumulo_simulator")


def test_routers_are_not_user_vms(
    api: falcon.testing.TestClient,
    runtime: Runtime,
    admin_keys: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cumulo.accounts.models import Account
    from cumulo.demo import ensure_demo_zone
    from cumulo.infra.models import Zone

    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone_uuid = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    alice = Cloud(api, runtime, make_caller(runtime, "alice", 0))
    admin = Cloud(api, runtime, admin_keys)
    with runtime.sessions() as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.uuid == zone_uuid)).one()
    network = make_isolated_network(runtime, zone_id, "alice", "alice-net", "203.0.113.10")
    router = _ensure(runtime, network)
    assert alice.call("listVirtualMachines") == {}
    assert admin.call("listVirtualMachines", listall=True) == {}
    code, _ = admin.error("stopVirtualMachine", id=router.uuid)
    assert code == 431
    with runtime.sessions() as session:
        owner = session.scalars(select(Account.id).where(Account.account_name == "alice")).one()
        assert count_vms(session, [owner]) == {}


def test_sessions_of_the_runtime_find_it_for_routers(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orchestrator called with a bare session (as the network lifecycle calls it)
    starts routers with the runtime that made the session (``session.info``)."""
    from cumulo.demo import ensure_demo_zone
    from cumulo.infra.models import Zone
    from cumulo.network.context import CoreNetworkContext

    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone_uuid = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    make_caller(runtime, "alice", 0)
    with runtime.sessions() as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.uuid == zone_uuid)).one()
    network = make_isolated_network(runtime, zone_id, "alice", "alice-net", "203.0.113.10")
    with runtime.sessions() as session:
        assert session.info["runtime"] is runtime
        router = CoreNetworkContext(session).ensure_router(network)
    assert router.access_uri.startswith("file://") and router.access_uri.endswith(
        f"/routers/{router.instance_name}"
    )
