"""VMs join security groups when they are deployed (REQ-SG-02, REQ-SG-03): in the demo
zone (basic, security groups enabled) ``deployVirtualMachine`` with
``securitygroupnames``/``securitygroupids`` puts the VM in those groups, without them
in the owner's ``default`` group; unknown or foreign groups are refused before anything
is allocated. This is the compute deploy path calling
:func:`cumulo.network.security_groups.membership.join` (its wiring, which the lead
applies from ``/tmp/net6c-shared.diff``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cumulo.accounts.models import Account
from cumulo.compute.models import VirtualMachine
from cumulo.demo import ensure_demo_zone
from cumulo.infra.hosts.models import Host, HostType
from cumulo.infra.models import Zone
from cumulo.network.security_groups.models import SecurityGroupVmMap
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import Cloud, Tenant  # noqa: E402

pytest_plugins = ("network_rules_world",)
pytest.importorskip("cumulo_simulator")
GIB = 1024**3


@pytest.fixture
def demo(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The demo zone with a downloaded template: the deploy parameters."""
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    with runtime.sessions.begin() as session:
        zone_row = session.scalars(select(Zone).where(Zone.uuid == zone)).one()
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).first()
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        template = VMTemplate(
            name="tiny", display_text="tiny", format="QCOW2", hypervisor_type="Simulator",
            account_id=admin.id, domain_id=admin.domain_id, public=True, featured=True,
            size=GIB, url="http://example.com/tiny.qcow2",
        )  # fmt: skip
        session.add(template)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=template.id, zone_id=zone_row.id,
                store_id=store.id if store is not None else None,
                download_state=DownloadState.DOWNLOADED.value, download_pct=100, size=GIB,
                install_path=f"template/tmpl/2/{template.id}/tiny.qcow2",
            )
        )  # fmt: skip
        offering = session.scalars(
            select(ServiceOffering.uuid).where(ServiceOffering.name == "Small Instance")
        ).one()
        return {"zoneid": zone, "templateid": template.uuid, "serviceofferingid": offering}


def _groups_of(cloud: Cloud, tenant: Tenant, vm: str) -> list[str]:
    listed = cloud.call(tenant.keys, "listSecurityGroups", virtualmachineid=vm)
    return sorted(g["name"] for g in listed.get("securitygroup", []))


def test_a_deployed_vm_joins_the_named_groups_or_the_default_one_req_sg_02(
    cloud: Cloud, alice: Tenant, demo: dict[str, str]
) -> None:
    web = cloud.call(alice.keys, "createSecurityGroup", name="web")["securitygroup"]
    cloud.call(alice.keys, "createSecurityGroup", name="db")
    named: Any = cloud.ok(alice.keys, "deployVirtualMachine", securitygroupnames="web,db", **demo)
    assert _groups_of(cloud, alice, named["virtualmachine"]["id"]) == ["db", "web"]
    by_id: Any = cloud.ok(alice.keys, "deployVirtualMachine", securitygroupids=web["id"], **demo)
    assert _groups_of(cloud, alice, by_id["virtualmachine"]["id"]) == ["web"]
    plain: Any = cloud.ok(alice.keys, "deployVirtualMachine", **demo)
    assert _groups_of(cloud, alice, plain["virtualmachine"]["id"]) == ["default"]


def test_unknown_or_foreign_groups_are_refused_before_anything_is_made(
    runtime: Runtime, cloud: Cloud, alice: Tenant, bob: Tenant, demo: dict[str, str]
) -> None:
    bad = cloud.fail(alice.keys, "deployVirtualMachine", securitygroupnames="nope", **demo)
    assert bad["errorcode"] == 431 and "securitygroupnames" in bad["errortext"]
    bobs = cloud.call(bob.keys, "createSecurityGroup", name="b")["securitygroup"]
    bad = cloud.fail(alice.keys, "deployVirtualMachine", securitygroupids=bobs["id"], **demo)
    assert bad["errorcode"] == 531
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(VirtualMachine)) == 0
        assert session.scalar(select(func.count()).select_from(SecurityGroupVmMap)) == 0
