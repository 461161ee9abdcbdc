"""Shared helpers of the guest-network tests (``test_network_networks_*``,
``test_network_ipam_*``, ``test_network_nics_*``): signed API calls and job runs as a
client sees them, callers in accounts of their own, a statement counter, and the
demo's advanced zone (simulated hosts, a guest VLAN range, the VirtualRouter provider,
public addresses, a template) built through the same services the API uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import falcon.testing
from sqlalchemy import select

from cumulo.accounts.models import Account, Domain, User
from cumulo.runtime import Runtime
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]


class Cloud:
    """Signed API calls and job runs."""

    def __init__(self, runtime: Runtime, api: falcon.testing.TestClient) -> None:
        self.runtime = runtime
        self.api = api
        self.registry = CommandRegistry.build(runtime.pm)

    def answer(self, keys: Keys, command: str, **params: Any) -> tuple[int, Any]:
        result = signed_request(self.api, keys, command, **params)
        (body,) = json.loads(result.content).values()
        return result.status_code, body

    def call(self, keys: Keys, command: str, **params: Any) -> Any:
        status, body = self.answer(keys, command, **params)
        assert status == 200, body
        return body

    def fail(self, keys: Keys, command: str, **params: Any) -> Any:
        """The error answer (sync command, or a job's error result)."""
        status, body = self.answer(keys, command, **params)
        if status == 200 and "jobid" in body:
            run_pending(self.runtime, self.registry)
            job = self.call(keys, "queryAsyncJobResult", jobid=body["jobid"])
            assert job["jobstatus"] == 2, job
            return job["jobresult"]
        assert status >= 400, body
        return body

    def ok(self, keys: Keys, command: str, **params: Any) -> Any:
        """An async command run to success: its job result."""
        body = self.call(keys, command, **params)
        run_pending(self.runtime, self.registry)
        job = self.call(keys, "queryAsyncJobResult", jobid=body["jobid"])
        assert job["jobstatus"] == 1, job
        return job["jobresult"]


def make_user(runtime: Runtime, name: str, account_type: int = 0, domain_path: str = "/") -> Keys:
    """A new account (in the domain at ``domain_path``) with one user; its API keys."""
    from cumulo.auth.keys import register_user_keys

    with runtime.sessions.begin() as session:
        domain = session.scalars(select(Domain).where(Domain.path == domain_path)).one()
        account = Account(account_name=name, type=account_type, domain_id=domain.id)
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            firstname=name,
            lastname="test",
            email=f"{name}@example.com",
        )
        session.add(user)
        session.flush()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


def advanced_zone(runtime: Runtime, data_dir: Path) -> str:
    """The demo's advanced zone (:mod:`cumulo.network.networks.demo`); its id."""
    from cumulo.network.networks.demo import ensure_advanced_demo_zone

    zone_uuid, _ = ensure_advanced_demo_zone(runtime, data_dir)
    return zone_uuid


def offering_id(cloud: Cloud, keys: Keys, name: str) -> str:
    """The id of the network offering called ``name``."""
    listed = cloud.call(keys, "listNetworkOfferings", name=name)
    (found,) = [o for o in listed["networkoffering"] if o["name"] == name]
    return str(found["id"])


ISOLATED = "DefaultIsolatedNetworkOfferingWithSourceNatService"


def deploy_args(cloud: Cloud, keys: Keys, zone: str) -> dict[str, str]:
    """zoneid, templateid and serviceofferingid of a deploy in ``zone``."""
    templates = cloud.call(keys, "listTemplates", templatefilter="executable", zoneid=zone)
    offerings = cloud.call(keys, "listServiceOfferings", name="Small Instance")
    return {
        "zoneid": zone,
        "templateid": templates["template"][0]["id"],
        "serviceofferingid": offerings["serviceoffering"][0]["id"],
    }
