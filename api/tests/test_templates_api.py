"""Templates, ISOs and OS types over the API, signed as 4.1 clients sign, on a real
database; downloads through the job worker and the simulator's storage driver into a
real ``file://`` store, from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import falcon.testing
import pytest
from api_test_commands import StatementCounter, make_caller
from sqlalchemy import select

from cumulo.accounts.models import Account
from cumulo.events.models import Event
from cumulo.infra.hosts.models import Host
from cumulo.limits.models import ResourceCount
from cumulo.runtime import Runtime
from cumulo.templates import transfer
from cumulo.templates.extract_http import ROUTE, ExtractResource
from cumulo.templates.models import TemplateZoneRef, VMTemplate
from cumulo.templates.testing import TemplateServer, md5_of, ready_template, zone_with_store
from cumulo_api.app import create_app
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]
BITS = b"QFI\xfb" + bytes(4096)


@pytest.fixture(autouse=True)
def simulator_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))


@pytest.fixture
def zones(runtime: Runtime, tmp_path: Path) -> list[Any]:
    with runtime.sessions() as session:
        first = zone_with_store(session, tmp_path / "sec1", name="z1")
        second = zone_with_store(session, tmp_path / "sec2", name="z2")
    with runtime.sessions() as session:
        runtime.config_store(session).set("secstorage.allowed.internal.sites", "127.0.0.0/8")
        session.commit()
    return [first, second]


@pytest.fixture
def server() -> Any:
    with TemplateServer({"/t.qcow2": BITS, "/boot.iso": BITS[:1024]}) as running:
        yield running


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _error(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return result.status_code, answer["errortext"]


def _jobs(runtime: Runtime) -> int:
    return run_pending(runtime, CommandRegistry.build(runtime.pm))


def _job(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, command: str, **p: Any
) -> Any:
    started = _call(api, keys, command, **p)
    _jobs(runtime)
    return _call(api, keys, "queryAsyncJobResult", jobid=started["jobid"])


def _os(api: falcon.testing.TestClient, keys: Keys, name: str = "CentOS 5.5 (64-bit)") -> str:
    return str(_call(api, keys, "listOsTypes", description=name)["ostype"][0]["id"])


def _register(api: falcon.testing.TestClient, keys: Keys, zone: str, url: str, **extra: Any) -> Any:
    params = {
        "name": "t",
        "displaytext": "t",
        "url": url,
        "format": "QCOW2",
        "hypervisor": "Simulator",
        "ostypeid": _os(api, keys),
        "zoneid": zone,
        **extra,
    }
    return _call(api, keys, "registerTemplate", **params)["template"]


def _ids(answer: Any, key: str = "template") -> list[str]:
    return [item["id"] for item in answer.get(key, [])]


def test_os_types_and_categories_are_seeded_with_41_names(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    categories = _call(api, admin_keys, "listOsCategories")
    names = {c["name"] for c in categories["oscategory"]}
    assert {"CentOS", "Ubuntu", "Debian", "Windows", "Other"} <= names
    windows = next(c["id"] for c in categories["oscategory"] if c["name"] == "Windows")
    types = _call(api, admin_keys, "listOsTypes", oscategoryid=windows)["ostype"]
    assert "Windows Server 2008 R2 (64-bit)" in {t["description"] for t in types}
    assert all(t["oscategoryid"] == windows for t in types)
    ubuntu = _call(api, admin_keys, "listOsTypes", keyword="Ubuntu 10.04")
    assert ubuntu["count"] == 2 and list(ubuntu["ostype"][0]) == [
        "id",
        "oscategoryid",
        "description",
    ]


def test_register_zone_minus_one_downloads_to_every_zone(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    zones: list[Any],
    server: Any,
) -> None:
    entries = _register(api, admin_keys, "-1", server.url("/t.qcow2"), checksum=md5_of(BITS))
    assert {e["zoneid"] for e in entries} == {z.zone_uuid for z in zones}
    assert all(e["crossZones"] is True for e in entries)
    assert _jobs(runtime) == 2
    listed = _call(api, admin_keys, "listTemplates", templatefilter="self")
    assert [e["status"] for e in listed["template"]] == ["Download Complete"] * 2
    assert {e["size"] for e in listed["template"]} == {len(BITS)}


def test_private_template_invisible_to_other_account(
    api: falcon.testing.TestClient, runtime: Runtime, zones: list[Any], server: Any
) -> None:
    alice, bob = make_caller(runtime, "alice", 0), make_caller(runtime, "bob", 0)
    (entry,) = _register(api, alice, zones[0].zone_uuid, server.url("/t.qcow2"))
    _jobs(runtime)
    assert _ids(_call(api, alice, "listTemplates", templatefilter="self")) == [entry["id"]]
    assert _ids(_call(api, alice, "listTemplates", templatefilter="executable")) == [entry["id"]]
    for chosen in ("featured", "self", "selfexecutable", "sharedexecutable", "executable",
                   "community", "all"):  # fmt: skip
        answer = _call(api, bob, "listTemplates", templatefilter=chosen)
        assert entry["id"] not in _ids(answer), chosen
    assert _error(api, bob, "listTemplatePermissions", id=entry["id"])[0] == 531
    assert _error(api, bob, "updateTemplate", id=entry["id"], name="mine")[0] == 531
    failed = _job(api, runtime, bob, "deleteTemplate", id=entry["id"])
    assert failed["jobstatus"] == 2 and failed["jobresult"]["errorcode"] == 531
    # A launch permission shares it: bob sees it as sharedexecutable, not as his own.
    assert _call(api, alice, "updateTemplatePermissions", id=entry["id"], accounts="bob",
                 op="add")["success"] == "true"  # fmt: skip
    assert _ids(_call(api, bob, "listTemplates", templatefilter="sharedexecutable")) == [
        entry["id"]
    ]
    assert _ids(_call(api, bob, "listTemplates", templatefilter="self")) == []
    permissions = _call(api, alice, "listTemplatePermissions", id=entry["id"])
    assert permissions["templatepermission"]["account"] == ["bob"]
    _call(api, alice, "updateTemplatePermissions", id=entry["id"], op="reset")
    assert _ids(_call(api, bob, "listTemplates", templatefilter="executable")) == []


def test_filters_featured_community_and_all(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, zones: list[Any]
) -> None:
    user = make_caller(runtime, "carol", 0)
    with runtime.sessions() as session:
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        carol = session.scalars(select(Account).where(Account.account_name == "carol")).one()
        zone = zones[0].zone_id
        featured = ready_template(session, account_id=admin.id, domain_id=1, zone_id=zone,
                                  name="featured")  # fmt: skip
        community = ready_template(session, account_id=admin.id, domain_id=1, zone_id=zone,
                                   name="community")  # fmt: skip
        community.featured = False
        private = ready_template(session, account_id=admin.id, domain_id=1, zone_id=zone,
                                 name="private", public=False)  # fmt: skip
        own = ready_template(session, account_id=carol.id, domain_id=1, zone_id=zone,
                             name="own", public=False)  # fmt: skip
        session.commit()
        ids = {t.name: t.uuid for t in (featured, community, private, own)}
    listed = {
        name: set(_ids(_call(api, user, "listTemplates", templatefilter=name)))
        for name in ("featured", "community", "self", "executable", "all")
    }
    assert listed["featured"] == {ids["featured"]}
    assert listed["community"] == {ids["community"]}
    assert listed["self"] == {ids["own"]}
    assert listed["executable"] == {ids["featured"], ids["community"], ids["own"]}
    assert ids["private"] not in listed["all"]
    everything = set(_ids(_call(api, admin_keys, "listTemplates", templatefilter="all")))
    assert everything == set(ids.values())


def test_list_pages_cost_constant_statements(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    zones: list[Any],
    statements: StatementCounter,
) -> None:
    def add(count: int) -> None:
        with runtime.sessions() as session:
            for index in range(count):
                ready_template(session, account_id=2, domain_id=1, zone_id=zones[index % 2].zone_id,
                               name=f"t{index}")  # fmt: skip
            session.commit()

    def cost(**params: Any) -> int:
        statements.reset()
        _call(api, admin_keys, "listTemplates", **params)
        return statements.queries

    add(1)
    cost(templatefilter="all")  # the first request of a process also fills caches
    few = {f: cost(templatefilter=f) for f in ("featured", "self", "executable", "all")}
    add(30)
    many = {f: cost(templatefilter=f) for f in ("featured", "self", "executable", "all")}
    assert many == few and max(many.values()) <= 3
    assert _call(api, admin_keys, "listTemplates", templatefilter="all")["count"] == 31


def test_update_delete_and_limit(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    zones: list[Any],
    server: Any,
) -> None:
    user = make_caller(runtime, "dave", 0)
    entries = _register(api, user, "-1", server.url("/t.qcow2"))
    template_id = entries[0]["id"]
    _jobs(runtime)
    with runtime.sessions() as session:
        count = session.scalar(
            select(ResourceCount.count)
            .join(Account, Account.id == ResourceCount.account_id)
            .where(Account.account_name == "dave", ResourceCount.type == "template")
        )
    assert count == 1
    updated = _call(api, user, "updateTemplate", id=template_id, name="renamed",
                    ostypeid=_os(api, user, "Windows 7 (64-bit)"))["template"]  # fmt: skip
    assert (updated["name"], updated["ostypename"]) == ("renamed", "Windows 7 (64-bit)")
    one_zone = _job(api, runtime, user, "deleteTemplate", id=template_id, zoneid=zones[0].zone_uuid)
    assert one_zone["jobstatus"] == 1
    left = _call(api, user, "listTemplates", templatefilter="self")["template"]
    assert [e["zoneid"] for e in left] == [zones[1].zone_uuid]
    assert not list(zones[0].store_dir.rglob("*.qcow2"))
    assert _job(api, runtime, user, "deleteTemplate", id=template_id)["jobstatus"] == 1
    assert _call(api, user, "listTemplates", templatefilter="self") == {}
    with runtime.sessions() as session:
        count = session.scalar(
            select(ResourceCount.count)
            .join(Account, Account.id == ResourceCount.account_id)
            .where(Account.account_name == "dave", ResourceCount.type == "template")
        )
    assert count == 0


def test_copy_between_zones_and_extract(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    zones: list[Any],
    server: Any,
) -> None:
    (entry,) = _register(api, admin_keys, zones[0].zone_uuid, server.url("/t.qcow2"),
                         isextractable=True)  # fmt: skip
    _jobs(runtime)
    copied = _job(api, runtime, admin_keys, "copyTemplate", id=entry["id"],
                  sourcezoneid=zones[0].zone_uuid, destzoneid=zones[1].zone_uuid)  # fmt: skip
    assert copied["jobstatus"] == 1, copied
    result = copied["jobresult"]["template"]
    assert (result["zoneid"], result["status"]) == (zones[1].zone_uuid, "Download Complete")
    assert [p.read_bytes() for p in zones[1].store_dir.rglob("*.qcow2")] == [BITS]
    again = _job(api, runtime, admin_keys, "copyTemplate", id=entry["id"],
                 sourcezoneid=zones[0].zone_uuid, destzoneid=zones[1].zone_uuid)  # fmt: skip
    # Already there: 4.1 answers with the template in that zone ("don't need to copy").
    assert again["jobstatus"] == 1, again
    assert again["jobresult"]["template"]["zoneid"] == zones[1].zone_uuid
    extracted = _job(api, runtime, admin_keys, "extractTemplate", id=entry["id"],
                     mode="HTTP_DOWNLOAD", zoneid=zones[1].zone_uuid)  # fmt: skip
    answer = extracted["jobresult"]["template"]
    assert answer["extractMode"] == "HTTP_DOWNLOAD" and answer["zoneid"] == zones[1].zone_uuid
    # Served by the management server: the API app with the extract route mounted.
    app = create_app(runtime)
    app.add_route(ROUTE, ExtractResource(runtime))
    path = urlsplit(answer["url"]).path
    assert path.startswith(transfer.EXTRACT_PREFIX + "/")
    fetched = falcon.testing.TestClient(app).simulate_get(path)
    assert fetched.status_code == 200 and fetched.content == BITS
    assert falcon.testing.TestClient(app).simulate_get(path + "x").status_code == 404
    wrong = transfer.EXTRACT_PREFIX + "/not-a-token/" + path.rsplit("/", 1)[1]
    assert falcon.testing.TestClient(app).simulate_get(wrong).status_code == 404
    ftp = _job(api, runtime, admin_keys, "extractTemplate", id=entry["id"], mode="FTP_UPLOAD")
    assert ftp["jobstatus"] == 2 and ftp["jobresult"]["errorcode"] == 431


def test_iso_register_list_permissions(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    zones: list[Any],
    server: Any,
) -> None:
    user = make_caller(runtime, "erin", 0)
    iso = _call(api, user, "registerIso", name="boot", displaytext="boot",
                url=server.url("/boot.iso"), zoneid=zones[0].zone_uuid,
                ostypeid=_os(api, user))["iso"][0]  # fmt: skip
    _jobs(runtime)
    listed = _call(api, user, "listIsos", isofilter="self")["iso"]
    assert [(i["id"], i["status"], i["size"]) for i in listed] == [
        (iso["id"], "Download Complete", 1024)
    ]
    assert _call(api, user, "listTemplates", templatefilter="self") == {}
    status, text = _error(api, user, "updateTemplate", id=iso["id"], name="x")
    assert status == 431 and "ISO" in text
    assert _call(api, user, "updateIsoPermissions", id=iso["id"], ispublic=True)["success"]
    other = make_caller(runtime, "frank", 0)
    assert _ids(_call(api, other, "listIsos", isofilter="community"), "iso") == [iso["id"]]
    assert _job(api, runtime, user, "deleteIso", id=iso["id"])["jobstatus"] == 1
    assert _call(api, user, "listIsos", isofilter="self") == {}


def test_register_refuses_bad_input(
    api: falcon.testing.TestClient, runtime: Runtime, zones: list[Any], server: Any
) -> None:
    user = make_caller(runtime, "gina", 0)
    bad = {
        "url": ("ftp://example.com/t.qcow2", "url:"),
        "format": ("VMDK", "format:"),
        "checksum": ("abc", "checksum:"),
    }
    for name, (value, prefix) in bad.items():
        params = {"url": server.url("/t.qcow2"), "format": "QCOW2", name: value}
        status, text = _error(
            api, user, "registerTemplate", name="t", displaytext="t", hypervisor="Simulator",
            ostypeid=_os(api, user), zoneid=zones[0].zone_uuid, **params,
        )  # fmt: skip
        assert status == 431 and text.startswith(prefix), (name, text)
    status, text = _error(
        api, user, "registerTemplate", name="t", displaytext="t", hypervisor="Simulator",
        ostypeid=_os(api, user), zoneid=zones[0].zone_uuid, url=server.url("/t.vhd"),
        format="QCOW2",
    )  # fmt: skip
    assert status == 431 and "QCOW2" in text
    status, _ = _error(
        api, user, "registerTemplate", name="t", displaytext="t", hypervisor="Simulator",
        ostypeid=_os(api, user), zoneid=zones[0].zone_uuid, url=server.url("/t.qcow2"),
        format="QCOW2", isfeatured=True,
    )  # fmt: skip
    assert status == 531


# ---- createTemplate from a volume or a snapshot ------------------------------------------------


@pytest.fixture
def demo(runtime: Runtime, tmp_path: Path) -> dict[str, str]:
    """The demo zone (its built-in template Download Complete) and the Small Instance."""
    from cumulo.demo import ensure_demo_zone

    zone = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    return {"zoneid": zone}


def _deploy(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, demo: dict[str, str], **p: Any
) -> Any:
    if "templateid" not in p:
        (builtin,) = _call(api, keys, "listTemplates", templatefilter="featured")["template"]
        p["templateid"] = builtin["id"]
    (offering,) = _call(api, keys, "listServiceOfferings", name="Small Instance")["serviceoffering"]
    job = _job(
        api, runtime, keys, "deployVirtualMachine", serviceofferingid=offering["id"],
        **demo, **p,
    )  # fmt: skip
    assert job["jobstatus"] == 1, job
    return job["jobresult"]["virtualmachine"]


def _root(api: falcon.testing.TestClient, keys: Keys, vm: Any) -> Any:
    (root,) = _call(api, keys, "listVolumes", virtualmachineid=vm["id"], type="ROOT")["volume"]
    return root


def _template_count(runtime: Runtime, name: str) -> int:
    with runtime.sessions() as session:
        account = session.scalars(select(Account.id).where(Account.account_name == name)).one()
        count = session.scalars(
            select(ResourceCount.count).where(
                ResourceCount.account_id == account, ResourceCount.type == "template"
            )
        ).first()
        return int(count or 0)


def test_create_template_from_the_root_volume_of_a_stopped_vm(
    api: falcon.testing.TestClient, runtime: Runtime, demo: dict[str, str]
) -> None:
    alice = make_caller(runtime, "alice", 0)
    vm = _deploy(api, runtime, alice, demo)
    root = _root(api, alice, vm)
    params = {"name": "golden", "displaytext": "golden", "ostypeid": _os(api, alice)}
    status, text = _error(api, alice, "createTemplate", volumeid=root["id"], **params)
    assert status == 431 and "stop it" in text
    assert _job(api, runtime, alice, "stopVirtualMachine", id=vm["id"])["jobstatus"] == 1

    started = _call(api, alice, "createTemplate", volumeid=root["id"], **params)
    assert {"id", "jobid"} <= set(started)  # 4.1's async create: the id comes at once
    _jobs(runtime)
    job = _call(api, alice, "queryAsyncJobResult", jobid=started["jobid"])
    assert job["jobstatus"] == 1, job
    made = job["jobresult"]["template"]
    assert (made["id"], made["name"], made["zoneid"]) == (started["id"], "golden", demo["zoneid"])
    assert made["status"] == "Download Complete" and made["isready"] is True
    assert made["size"] == root["size"] and made["hypervisor"] == "Simulator"
    assert made["ispublic"] is False and made["templatetype"] == "USER"
    assert _template_count(runtime, "alice") == 1
    with runtime.sessions() as session:
        events = session.scalars(
            select(Event.description).where(
                Event.type == "TEMPLATE.CREATE", Event.description.like("%golden%")
            )
        ).all()
        assert len(events) == 1 and "Successfully created" in events[0]
        ref = session.scalars(
            select(TemplateZoneRef).join(VMTemplate).where(VMTemplate.uuid == made["id"])
        ).one()
        store = session.scalars(select(Host.url).where(Host.id == ref.store_id)).one()
    image = Path(urlsplit(store).path) / (ref.install_path or "")
    assert image.is_file()  # the bits are on the zone's secondary storage

    again = _deploy(api, runtime, alice, demo, templateid=made["id"], name="from-golden")
    assert again["state"] == "Running" and again["templateid"] == made["id"]
    # Private: another account neither sees it nor deploys from it.
    bob = make_caller(runtime, "bob", 0)
    assert _ids(_call(api, bob, "listTemplates", templatefilter="executable")) == [
        t["id"] for t in _call(api, bob, "listTemplates", templatefilter="featured")["template"]
    ]


def test_create_template_from_a_snapshot(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, demo: dict[str, str]
) -> None:
    vm = _deploy(api, runtime, admin_keys, demo)
    root = _root(api, admin_keys, vm)
    snap = _job(api, runtime, admin_keys, "createSnapshot", volumeid=root["id"])
    assert snap["jobstatus"] == 1, snap
    snapshot = snap["jobresult"]["snapshot"]
    job = _job(
        api, runtime, admin_keys, "createTemplate", snapshotid=snapshot["id"], name="snapped",
        displaytext="from a snapshot", ostypeid=_os(api, admin_keys), ispublic="true",
    )  # fmt: skip
    assert job["jobstatus"] == 1, job
    made = job["jobresult"]["template"]
    assert made["status"] == "Download Complete" and made["size"] == root["size"]
    assert made["ispublic"] is True
    with runtime.sessions() as session:
        row = session.scalars(select(VMTemplate).where(VMTemplate.uuid == made["id"])).one()
        assert row.source_snapshot_id is not None and row.source_volume_id is not None


def test_create_template_refuses_bad_sources_and_other_accounts(
    api: falcon.testing.TestClient, runtime: Runtime, demo: dict[str, str]
) -> None:
    alice, bob = make_caller(runtime, "alice", 0), make_caller(runtime, "bob", 0)
    vm = _deploy(api, runtime, alice, demo)
    root = _root(api, alice, vm)
    assert _job(api, runtime, alice, "stopVirtualMachine", id=vm["id"])["jobstatus"] == 1
    base = {"name": "x", "displaytext": "x", "ostypeid": _os(api, bob)}
    assert _error(api, bob, "createTemplate", volumeid=root["id"], **base)[0] == 531
    status, text = _error(api, alice, "createTemplate", **base)
    assert status == 431 and "volumeid" in text
    status, text = _error(api, alice, "createTemplate", volumeid=root["id"], url="cifs://x", **base)
    assert status == 431 and "url" in text
    assert _template_count(runtime, "alice") == 0


def test_a_failed_copy_removes_the_template_and_gives_the_count_back(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, demo: dict[str, str]
) -> None:
    from cumulo_simulator.rules import Behaviour, Scope
    from cumulo_simulator.state import SimulatorState

    vm = _deploy(api, runtime, admin_keys, demo)
    assert _job(api, runtime, admin_keys, "stopVirtualMachine", id=vm["id"])["jobstatus"] == 1
    root = _root(api, admin_keys, vm)
    SimulatorState().add_rule("copy_to_store", Scope(), Behaviour("fail", message="disk on fire"))
    job = _job(
        api, runtime, admin_keys, "createTemplate", volumeid=root["id"], name="doomed",
        displaytext="d", ostypeid=_os(api, admin_keys),
    )  # fmt: skip
    assert job["jobstatus"] == 2 and "disk on fire" in job["jobresult"]["errortext"]
    assert _template_count(runtime, "admin") == 0
    listed = _call(api, admin_keys, "listTemplates", templatefilter="self", name="doomed")
    assert listed.get("template", []) == []
