"""Template downloads end to end: a real HTTP server on 127.0.0.1, the real API (falcon
test client, signed requests), the job worker running the download, and the
simulator's storage driver (found through its entry point) writing into a real
``file://`` secondary store.

Must show (issue 5): a template served by a local HTTP server registers with its
checksum, shows progress and ends ``Download Complete`` with its real size; a wrong
checksum ends in an error state; a URL on an internal address is refused unless
allowed, at registration and again at download time (DNS rebinding).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.templates import download
from cumulo.templates.testing import Gate, TemplateServer, md5_of, zone_with_store
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]
PAYLOAD = bytes(range(256)) * (12 * 1024)  # 3 MiB: three 1 MiB chunks


@pytest.fixture(autouse=True)
def simulator_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))


@pytest.fixture
def zone(runtime: Runtime, tmp_path: Path) -> Any:
    with runtime.sessions() as session:
        return zone_with_store(session, tmp_path / "secondary")


def _allow(runtime: Runtime, value: str) -> None:
    with runtime.sessions() as session:
        runtime.config_store(session).set("secstorage.allowed.internal.sites", value)
        session.commit()


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _register(api: falcon.testing.TestClient, keys: Keys, zone: Any, url: str, **extra: Any) -> Any:
    params = {
        "name": "tiny",
        "displaytext": "tiny test template",
        "url": url,
        "format": "QCOW2",
        "hypervisor": "Simulator",
        "ostypeid": _os_type(api, keys),
        "zoneid": zone.zone_uuid,
        **extra,
    }
    return _call(api, keys, "registerTemplate", **params)["template"][0]


def _os_type(api: falcon.testing.TestClient, keys: Keys) -> str:
    types = _call(api, keys, "listOsTypes", description="CentOS 5.5 (64-bit)")["ostype"]
    return str(types[0]["id"])


def _mine(api: falcon.testing.TestClient, keys: Keys, template_id: str) -> Any:
    answer = _call(api, keys, "listTemplates", templatefilter="self", id=template_id)
    return answer["template"][0]


@pytest.fixture
def worker(runtime: Runtime) -> Iterator[Any]:
    registry = CommandRegistry.build(runtime.pm)

    def run() -> int:
        return run_pending(runtime, registry)

    yield run


def test_download_shows_progress_and_completes_with_real_size_and_checksum(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    zone: Any,
    worker: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(download, "PROGRESS_INTERVAL", 0.0)
    _allow(runtime, "127.0.0.0/8")
    gate = Gate(after_bytes=len(PAYLOAD) // 2)
    with TemplateServer({"/tiny.qcow2": PAYLOAD}, gate) as server:
        registered = _register(
            api, admin_keys, zone, server.url("/tiny.qcow2"), checksum=md5_of(PAYLOAD)
        )
        assert registered["isready"] is False and registered["status"] == "Processing"
        assert registered["checksum"] == md5_of(PAYLOAD)
        done = threading.Thread(target=worker)
        done.start()
        assert gate.reached.wait(30)
        seen = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = _mine(api, admin_keys, registered["id"])["status"]
            seen.add(status)
            if status == "33% Downloaded":
                break
            time.sleep(0.05)
        assert "33% Downloaded" in seen, seen
        gate.open()
        done.join(60)
    entry = _mine(api, admin_keys, registered["id"])
    assert entry["status"] == "Download Complete" and entry["isready"] is True
    assert entry["size"] == len(PAYLOAD)
    stored = list((zone.store_dir / "template" / "tmpl").rglob("*.qcow2"))
    assert len(stored) == 1 and stored[0].read_bytes() == PAYLOAD
    # Now it is executable: listed by the filters that show ready templates only.
    executable = _call(api, admin_keys, "listTemplates", templatefilter="executable")
    assert [t["id"] for t in executable["template"]] == [registered["id"]]
    with runtime.sessions() as session:
        types = set(session.scalars(select(Event.type).where(Event.type.like("TEMPLATE.%"))))
    assert {"TEMPLATE.CREATE", "TEMPLATE.DOWNLOAD.START", "TEMPLATE.DOWNLOAD.SUCCESS"} <= types


def test_wrong_checksum_ends_in_error_state_and_leaves_no_file(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, zone: Any, worker: Any
) -> None:
    _allow(runtime, "127.0.0.0/8")
    with TemplateServer({"/tiny.qcow2": PAYLOAD}) as server:
        registered = _register(
            api, admin_keys, zone, server.url("/tiny.qcow2"), checksum=md5_of(b"other bytes")
        )
        worker()
    entry = _mine(api, admin_keys, registered["id"])
    assert entry["isready"] is False
    assert "checksum mismatch" in entry["status"] and md5_of(PAYLOAD) in entry["status"]
    assert not list(zone.store_dir.rglob("*.qcow2"))
    assert _call(api, admin_keys, "listTemplates", templatefilter="executable") == {}


def test_a_failed_download_says_why(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, zone: Any, worker: Any
) -> None:
    _allow(runtime, "127.0.0.0/8")
    with TemplateServer({}) as server:
        registered = _register(api, admin_keys, zone, server.url("/missing.qcow2"))
        worker()
    status = _mine(api, admin_keys, registered["id"])["status"]
    assert status.startswith("Download failed:") and "404" in status


def test_internal_address_refused_unless_allowed(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, zone: Any
) -> None:
    with TemplateServer({"/tiny.qcow2": PAYLOAD}) as server:
        refused = signed_request(
            api,
            admin_keys,
            "registerTemplate",
            name="t",
            displaytext="t",
            url=server.url("/tiny.qcow2"),
            format="QCOW2",
            hypervisor="Simulator",
            ostypeid=_os_type(api, admin_keys),
            zoneid=zone.zone_uuid,
        )
        assert refused.status_code == 431, refused.text
        text = json.loads(refused.content)["registertemplateresponse"]["errortext"]
        assert text.startswith("url:") and "127.0.0.1" in text
        assert "secstorage.allowed.internal.sites" in text
        _allow(runtime, "10.0.0.0/8")  # another internal range does not help
        again = signed_request(
            api,
            admin_keys,
            "registerTemplate",
            name="t",
            displaytext="t",
            url=server.url("/tiny.qcow2"),
            format="QCOW2",
            hypervisor="Simulator",
            ostypeid=_os_type(api, admin_keys),
            zoneid=zone.zone_uuid,
        )
        assert again.status_code == 431
        _allow(runtime, "10.0.0.0/8,127.0.0.0/8")
        assert _register(api, admin_keys, zone, server.url("/tiny.qcow2"))["name"] == "tiny"
    assert server.requests == []  # nothing was fetched while registering


def test_download_time_recheck_refuses_an_address_no_longer_allowed(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, zone: Any, worker: Any
) -> None:
    """What passed at registration is checked again when the download connects, as a
    name may resolve elsewhere by then (DNS rebinding); here the policy changed."""
    _allow(runtime, "127.0.0.0/8")
    with TemplateServer({"/tiny.qcow2": PAYLOAD}) as server:
        registered = _register(api, admin_keys, zone, server.url("/tiny.qcow2"))
        _allow(runtime, "")
        worker()
        assert server.requests == []
    status = _mine(api, admin_keys, registered["id"])["status"]
    assert "internal address 127.0.0.1" in status
