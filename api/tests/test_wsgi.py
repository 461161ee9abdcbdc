"""``cumulo_api.wsgi:application`` serves the deployment of ``CUMULO_CONF_DIR``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import falcon.testing
import pytest

from cumulo.embedded import ensure_embedded
from cumulo.plugins import get_plugin_manager


def test_wsgi_application_serves_the_configured_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    ensure_embedded(conf, tmp_path / "data", get_plugin_manager())
    monkeypatch.setenv("CUMULO_CONF_DIR", str(conf))
    monkeypatch.delitem(sys.modules, "cumulo_api.wsgi", raising=False)
    wsgi = importlib.import_module("cumulo_api.wsgi")
    client = falcon.testing.TestClient(wsgi.application)
    assert client.simulate_get("/healthz").json == {"status": "ok"}
    login = client.simulate_get(
        "/client/api",
        params={
            "command": "login",
            "username": "admin",
            "password": "password",
            "response": "json",
        },
    )
    assert login.status_code == 200
    assert login.json["loginresponse"]["username"] == "admin"
    monkeypatch.delitem(sys.modules, "cumulo_api.wsgi")
