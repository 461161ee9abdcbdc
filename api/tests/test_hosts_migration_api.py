"""listHosts ``virtualmachineid`` (REQ-HOST, 4.1's ``listHostsForMigrationOfVM``): the
other hosts of a running VM's cluster, each flagged ``suitableformigration``."""

from __future__ import annotations

import falcon.testing
from sqlalchemy import select, update
from test_vms_api import Keys, _deploy, _json
from test_vms_api import ready as ready  # the fixture, used by name

from cumulo.compute.models import VirtualMachine
from cumulo.infra.hosts.models import Host
from cumulo.runtime import Runtime


def test_hosts_for_migration_are_the_others_of_the_cluster(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    vm = _deploy(runtime, api, admin_keys, **ready)
    with runtime.sessions.begin() as session:
        placed = session.scalars(
            select(VirtualMachine).where(VirtualMachine.uuid == vm["id"])
        ).one()
        host = session.get(Host, placed.host_id)
        assert host is not None
        cluster_hosts = session.scalars(
            select(Host.uuid).where(Host.cluster_id == host.cluster_id, Host.id != host.id)
        ).all()
        # One neighbour has no room left for this VM.
        full = session.scalars(
            select(Host).where(Host.cluster_id == host.cluster_id, Host.id != host.id)
        ).first()
        assert full is not None
        session.execute(update(Host).where(Host.id == full.id).values(free_memory=0))
        full_uuid, own_uuid = full.uuid, host.uuid

    listed = _json(api, admin_keys, "listHosts", virtualmachineid=vm["id"])["host"]
    assert sorted(h["id"] for h in listed) == sorted(cluster_hosts)
    assert own_uuid not in {h["id"] for h in listed}
    suitable = {h["id"]: h["suitableformigration"] for h in listed}
    assert suitable.pop(full_uuid) is False
    assert suitable and all(suitable.values())
    # Without virtualmachineid the flag is not part of the answer.
    plain = _json(api, admin_keys, "listHosts", id=own_uuid)["host"][0]
    assert "suitableformigration" not in plain


def test_hosts_for_migration_need_a_running_vm(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    vm = _deploy(runtime, api, admin_keys, **ready)
    stop = _json(api, admin_keys, "stopVirtualMachine", id=vm["id"])
    assert "jobid" in stop
    from cumulo_api.registry import CommandRegistry
    from cumulo_api.worker import run_pending

    run_pending(runtime, CommandRegistry.build(runtime.pm))
    answer = _json(api, admin_keys, "listHosts", virtualmachineid=vm["id"])
    assert answer["errorcode"] == 431 and "virtualmachineid" in answer["errortext"]
    unknown = _json(
        api, admin_keys, "listHosts", virtualmachineid="6e1c7f5e-0000-4000-8000-000000000000"
    )
    assert unknown["errorcode"] == 431
