"""The VM commands as clients see them on the wire: the async create answer, XML with
nested NICs, listApis, userdata limits by GET and POST, and domain-admin scoping
(a domain admin sees the VMs of its subdomain, and nobody else's)."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.accounts.models import Account
from cumulo.demo import ensure_demo_zone
from cumulo.infra.hosts.models import Host, HostType
from cumulo.infra.models import Zone
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import sign, signed_request
from cumulo_api.worker import run_pending

pytest.importorskip("cumulo_simulator")

Keys = tuple[str, str]


@pytest.fixture
def ready(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The demo zone, a downloaded public template and the Small Instance offering."""
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone_uuid = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    with runtime.sessions.begin() as session:
        zone = session.scalars(select(Zone).where(Zone.uuid == zone_uuid)).one()
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).first()
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        template = VMTemplate(
            name="tiny", display_text="tiny", format="QCOW2", hypervisor_type="Simulator",
            account_id=admin.id, domain_id=admin.domain_id, public=True, size=2**31,
        )  # fmt: skip
        session.add(template)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=template.id, zone_id=zone.id, download_state=DownloadState.DOWNLOADED,
                store_id=store.id if store else None, size=2**31, install_path="t/tiny.qcow2",
            )
        )  # fmt: skip
        offering = session.scalars(
            select(ServiceOffering.uuid).where(ServiceOffering.name == "Small Instance")
        ).one()
        return {"zoneid": zone_uuid, "templateid": template.uuid, "serviceofferingid": offering}


def _json(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    (answer,) = json.loads(result.content).values()
    return answer


def _deploy(runtime: Runtime, api: falcon.testing.TestClient, keys: Keys, **params: Any) -> Any:
    answer = _json(api, keys, "deployVirtualMachine", **params)
    assert "jobid" in answer, answer
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    job = _json(api, keys, "queryAsyncJobResult", jobid=answer["jobid"])
    assert job["jobstatus"] == 1, job
    return job["jobresult"]["virtualmachine"]


def test_list_in_xml_nests_the_nics(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    vm = _deploy(runtime, api, admin_keys, **ready, name="x1")
    result = signed_request(api, admin_keys, "listVirtualMachines", response="xml", id=vm["id"])
    assert result.status_code == 200
    root = ET.fromstring(result.content)
    assert root.tag == "listvirtualmachinesresponse" and root.findtext("count") == "1"
    machine = root.find("virtualmachine")
    assert machine is not None and machine.findtext("name") == "x1"
    assert machine.findtext("nic/ipaddress") == vm["nic"][0]["ipaddress"]
    assert machine.findtext("hostid") is not None  # root admins see where it runs
    assert machine.findtext("instancename", "").startswith("i-")


def test_list_apis_declares_deploy_async(api: falcon.testing.TestClient, admin_keys: Keys) -> None:
    (deploy,) = _json(api, admin_keys, "listApis", name="deployVirtualMachine")["api"]
    assert deploy["isasync"] is True
    params = {p["name"]: p for p in deploy["params"]}
    assert params["userdata"]["length"] == 2048 and params["zoneid"]["required"] is True
    assert {"nic", "securitygroup", "password", "keypair"} <= {
        r["name"] for r in deploy["response"]
    }


def test_userdata_over_2kb_by_get_is_refused(
    api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    big = base64.b64encode(b"x" * 3000).decode()
    answer = _json(api, admin_keys, "deployVirtualMachine", **ready, userdata=big)
    assert answer["errorcode"] == 431 and "userdata" in answer["errortext"]


def _post(
    api: falcon.testing.TestClient, keys: Keys, command: str, **params: str
) -> falcon.testing.Result:
    wire = {**params, "response": "json", "command": command, "apiKey": keys[0]}
    wire["signature"] = sign(wire, keys[1])
    return api.simulate_post(
        "/client/api",
        body=urlencode(wire, quote_via=quote),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_userdata_by_post_reaches_the_vm(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    # 4.1 takes up to 32 KB of base64 user data in a form body (2 KB in a query string).
    script = base64.b64encode(b"#cloud-config\nruncmd: [echo hello]\n" + b"#" * 20000).decode()
    assert 2048 < len(script) <= 32768
    answer = _post(api, admin_keys, "deployVirtualMachine", **ready, userdata=script)
    assert answer.status_code == 200, answer.text
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    from cumulo.compute.models import VirtualMachine

    with runtime.sessions() as session:
        assert session.scalars(select(VirtualMachine.user_data)).one() == script


def test_userdata_over_32kb_by_post_is_refused(
    api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    script = base64.b64encode(b"x" * 30000).decode()
    answer = _post(api, admin_keys, "deployVirtualMachine", **ready, userdata=script)
    assert answer.status_code == 431
    assert "userdata" in answer.json["deployvirtualmachineresponse"]["errortext"]


def _domain_admin(
    api: falcon.testing.TestClient, admin: Keys, name: str, parent: str
) -> tuple[Keys, str]:
    domain = _json(api, admin, "createDomain", name=name, parentdomainid=parent)["domain"]
    account = _json(
        api, admin, "createAccount", accounttype=2, account=f"{name}-admin",
        username=f"{name}-admin", password="pw", email="a@b.c", firstname="a",
        lastname="b", domainid=domain["id"],
    )["account"]  # fmt: skip
    user_id = account["user"][0]["id"]
    keys = _json(api, admin, "registerUserKeys", id=user_id)["userkeys"]
    return (keys["apikey"], keys["secretkey"]), domain["id"]


def test_a_domain_admin_sees_its_subdomain_only(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, ready: dict[str, str]
) -> None:
    root = _json(api, admin_keys, "listDomains", name="ROOT")["domain"][0]["id"]
    sales, sales_id = _domain_admin(api, admin_keys, "sales", root)
    hr, _ = _domain_admin(api, admin_keys, "hr", root)
    mine = _deploy(runtime, api, sales, **ready)
    _deploy(runtime, api, hr, **ready)
    listed = _json(api, sales, "listVirtualMachines", listall="true")
    assert [v["id"] for v in listed["virtualmachine"]] == [mine["id"]]
    assert "hostid" not in listed["virtualmachine"][0]  # not a root admin
    # The root admin may deploy for the sales admin's account.
    theirs = _deploy(runtime, api, admin_keys, **ready, account="sales-admin", domainid=sales_id)
    assert theirs["account"] == "sales-admin" and theirs["domainid"] == sales_id
    stopped = _json(api, hr, "stopVirtualMachine", id=mine["id"])
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    job = _json(api, hr, "queryAsyncJobResult", jobid=stopped["jobid"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 531
