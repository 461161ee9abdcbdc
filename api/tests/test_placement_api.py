"""``explainVirtualMachinePlacement`` (admin-only cumulo extension) over the real API:
the plan with per-filter elimination counts, without deploying."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.accounts.models import Account
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Zone
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo.testing.compliance.allocators_world import GB, PlacementWorld
from cumulo_api.testing import signed_request

Keys = tuple[str, str]


def _answer(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    (answer,) = json.loads(result.content).values()
    return result.status_code, answer


@pytest.fixture
def cloud(runtime: Runtime) -> dict[str, Any]:
    """A zone: two Simulator hosts (one tagged ``fast``), one in maintenance, one too
    small; a 100 GB pool; a 2 GB template ready in the zone."""
    with runtime.sessions.begin() as session:
        world = PlacementWorld(session)
        world.configure(
            "host.allocators.order", "HostState,Hypervisor,HostTags,HostCapacity,FirstFit"
        )
        world.add_host("plain", memory_gb=8)
        world.add_host("fast", memory_gb=8, tags=("fast",))
        world.add_host("maint", resource_state="Maintenance")
        world.add_host("tiny", memory_gb=1, tags=("fast",))
        world.add_pool("primary", capacity_gb=100)
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        template = VMTemplate(
            name="tiny-linux",
            display_text="tiny linux",
            format="QCOW2",
            hypervisor_type="Simulator",
            account_id=admin.id,
            domain_id=admin.domain_id,
            public=True,
            size=2 * GB,
        )
        session.add(template)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=template.id,
                zone_id=world.zone_id,
                download_state=DownloadState.DOWNLOADED.value,
                size=2 * GB,
                install_path="template/tmpl/2/1/tiny.qcow2",
            )
        )
        zone = session.get(Zone, world.zone_id)
        assert zone is not None
        return {"zone": zone.uuid, "template": template.uuid, "world": world}


def _offering(api: falcon.testing.TestClient, keys: Keys, hosttags: str) -> str:
    status, answer = _answer(
        api, keys, "createServiceOffering", name=f"o-{hosttags}", displaytext="o",
        cpunumber=1, cpuspeed=500, memory=2048, hosttags=hosttags,
    )  # fmt: skip
    assert status == 200, answer
    return str(answer["serviceoffering"]["id"])


def test_explain_shows_the_plan_and_counts_without_deploying(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, cloud: dict[str, Any]
) -> None:
    offering = _offering(api, admin_keys, "fast")
    with runtime.sessions() as session:
        before = session.execute(select(Host.id, Host.free_cpu, Host.free_memory)).all()
    status, answer = _answer(
        api, admin_keys, "explainVirtualMachinePlacement",
        zoneid=cloud["zone"], serviceofferingid=offering, templateid=cloud["template"],
    )  # fmt: skip
    assert status == 200, answer
    placement = answer["placement"]
    assert placement["deployable"] is True and placement["hostname"] == "fast"
    assert placement["planner"] == "FirstFit"
    assert placement["filters"] == "HostState,Hypervisor,HostTags,HostCapacity"
    assert placement["hostsinscope"] == 4 and placement["rootdisksize"] == 2 * GB
    assert placement["memoryrequired"] == 2 * GB and placement["cpurequired"] == 500
    counts = {(e["filter"], e["reason"]): e["count"] for e in placement["eliminated"]}
    assert counts == {
        ("HostState", "in maintenance"): 1,
        ("HostCapacity", "without 2048 MB free memory"): 1,
        ("HostTags", "lacking host tag 'fast'"): 1,
    }
    (planned,) = placement["plan"]
    assert planned["hostname"] == "fast" and planned["storage"][0]["name"] == "primary"
    assert planned["clustername"] == "cluster1" and planned["podname"] == "pod1"
    with runtime.sessions() as session:
        after = session.execute(select(Host.id, Host.free_cpu, Host.free_memory)).all()
    assert after == before  # nothing claimed


def test_an_undeployable_vm_is_explained(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, Any]
) -> None:
    offering = _offering(api, admin_keys, "gpu")
    status, answer = _answer(
        api, admin_keys, "explainVirtualMachinePlacement",
        zoneid=cloud["zone"], serviceofferingid=offering, templateid=cloud["template"],
    )  # fmt: skip
    assert status == 200, answer
    placement = answer["placement"]
    assert placement["deployable"] is False and placement["plan"] == []
    assert "hostid" not in placement
    assert "2 hosts lacking host tag 'gpu'" in placement["summary"]
    assert "1 host in maintenance" in placement["summary"]


def test_explain_is_admin_only(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    user_keys: Keys,
    domain_admin_keys: Keys,
    cloud: dict[str, Any],
) -> None:
    offering = _offering(api, admin_keys, "fast")
    for keys in (user_keys, domain_admin_keys):
        status, answer = _answer(
            api, keys, "explainVirtualMachinePlacement",
            zoneid=cloud["zone"], serviceofferingid=offering,
        )  # fmt: skip
        assert status == 432 and answer["errorcode"] == 432, answer
    # Users do not even see it in listApis; admins do.
    status, listed = _answer(api, user_keys, "listApis", name="explainVirtualMachinePlacement")
    assert status == 530 and "unable to find an api" in listed["errortext"]
    status, listed = _answer(api, admin_keys, "listApis", name="explainVirtualMachinePlacement")
    assert status == 200 and listed["api"][0]["name"] == "explainVirtualMachinePlacement"


def test_bad_parameters_are_431(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, Any]
) -> None:
    status, answer = _answer(
        api, admin_keys, "explainVirtualMachinePlacement",
        zoneid=cloud["zone"], serviceofferingid="00000000-0000-0000-0000-000000000000",
    )  # fmt: skip
    assert status == 431 and "serviceofferingid" in answer["errortext"]
