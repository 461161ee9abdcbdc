"""Unchanged real clients run VMs on ``cumulo serve --embedded`` (the demo zone of
simulated hosts) over real HTTP (issue 5, "Must show").

This module holds what the client modules share — the embedded cloud, a tenant account
with its own API keys, a Libcloud driver — and the cloudmonkey 5.3.3 run (Python 2.7):
``deploy``, ``stop``, ``start`` and ``destroy virtualmachine`` blocking on each job.
Libcloud's calls are in ``test_libcloud_compute.py``, ``cs``'s in ``test_cs_compute.py``;
each module starts its own server, so that a module's VMs cannot disturb another's
counts.

The template is put in place through the server's own database (registration and
download belong to the templates' tests): a public template downloaded in the zone.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cs import CloudStack
from libcloud.compute.providers import get_driver
from libcloud.compute.types import Provider
from sqlalchemy import select
from test_demo import START_TIMEOUT, _admin_keys
from test_real_clients import _monkey, cloudmonkey  # noqa: F401 (the fixture)

from cumulo.accounts.models import Account
from cumulo.compute.models import VirtualMachine
from cumulo.infra.hosts.models import Host, HostType
from cumulo.infra.models import Zone
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, GuestOs, TemplateZoneRef, VMTemplate
from cumulo_api.testing_server import COMPACT_ARGS, ServeProcess

pytest.importorskip("cumulo_simulator")

TEMPLATE_SIZE = 2**31  # the template's virtual size: the root volume's size


@dataclass(frozen=True)
class Cloud:
    """The running server, the admin's keys and the template clients deploy."""

    server: ServeProcess
    key: str
    secret: str
    template: str
    conf: Path

    def vm_ssh_public_key(self, vm_uuid: str) -> str | None:
        """The public key the server keeps for the VM (to put in the guest): not in any
        4.1 answer, so read from the server's database."""
        runtime = Runtime.from_conf(self.conf)
        try:
            with runtime.sessions.begin() as session:
                return session.scalars(
                    select(VirtualMachine.ssh_public_key).where(VirtualMachine.uuid == vm_uuid)
                ).one()
        finally:
            runtime.close()

    def cs(self, keys: tuple[str, str] | None = None) -> CloudStack:
        """A ``cs`` client signing with ``keys`` (default: the admin's)."""
        key, secret = keys or (self.key, self.secret)
        return CloudStack(endpoint=self.server.api_url, key=key, secret=secret)

    def libcloud(self, keys: tuple[str, str] | None = None) -> Any:
        """Libcloud's unchanged ``CloudStackNodeDriver`` signing with ``keys``.

        ``secure=False``: the driver ignores the URL's scheme and speaks HTTPS unless
        told otherwise (clients.md §2).
        """
        key, secret = keys or (self.key, self.secret)
        return get_driver(Provider.CLOUDSTACK)(
            key=key,
            secret=secret,
            host=self.server.host,
            port=self.server.port,
            path="/client/api",
            secure=False,
        )

    def tenant(self, prefix: str) -> tuple[str, str]:
        """A new user account (type 0) in the root domain; its user's API keys.

        Created over the API as the admin would: ``createAccount``, ``registerUserKeys``.
        """
        admin = self.cs()
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        account = admin.createAccount(
            accounttype=0, account=name, username=name, password="secret",
            email=f"{name}@example.com", firstname=prefix, lastname="Tenant",
        )["account"]  # fmt: skip
        (user,) = account["user"]
        keys = admin.registerUserKeys(id=user["id"])["userkeys"]
        return str(keys["apikey"]), str(keys["secretkey"])


def _template(conf: Path) -> str:
    """A public Simulator template downloaded in the demo zone (its uuid)."""
    runtime = Runtime.from_conf(conf)
    try:
        with runtime.sessions.begin() as session:
            zone = session.scalars(select(Zone).where(Zone.name == "Demo")).one()
            store = session.scalars(
                select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
            ).first()
            admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
            os_type = session.scalars(select(GuestOs.id).order_by(GuestOs.id)).first()
            template = VMTemplate(
                guest_os_id=os_type,
                name="tiny-linux", display_text="Tiny Linux", format="QCOW2",
                hypervisor_type="Simulator", account_id=admin.id, domain_id=admin.domain_id,
                public=True, featured=True, size=TEMPLATE_SIZE,
            )  # fmt: skip
            session.add(template)
            session.flush()
            session.add(
                TemplateZoneRef(
                    template_id=template.id, zone_id=zone.id, store_id=store.id if store else None,
                    download_state=DownloadState.DOWNLOADED.value, download_pct=100,
                    size=TEMPLATE_SIZE, install_path="template/tmpl/2/tiny.qcow2",
                )
            )  # fmt: skip
            return template.uuid
    finally:
        runtime.close()


@contextlib.contextmanager
def embedded_cloud(scratch: Path) -> Iterator[Cloud]:
    """``cumulo serve --embedded`` (``./dev run``) on a fresh configuration directory
    under ``scratch``, with the admin's keys registered and the template in place."""
    with ServeProcess(
        *COMPACT_ARGS,
        "--embedded",
        log=scratch / "serve.log",
        env={"CUMULO_CONF_DIR": str(scratch / "conf"), "CUMULO_SIMULATOR_STATE": ""},
        start_timeout=START_TIMEOUT,
    ) as server:
        key, secret = _admin_keys(server.api_url)
        yield Cloud(server, key, secret, _template(scratch / "conf"), scratch / "conf")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with embedded_cloud(tmp_path_factory.mktemp("vm-clients")) as running:
        yield running


# ---- cloudmonkey 5.3.3 (Python 2.7) --------------------------------------------------


def _configure(cloud: Cloud, cloudmonkey: tuple[str, Path], home: Path) -> None:  # noqa: F811
    """Point cloudmonkey (its configuration under ``home``) at the cloud as the admin,
    JSON output, and ``sync``: the server's own ``listApis`` then decides which commands
    are async (blocked on) and which parameters are required, instead of cloudmonkey's
    bundled 4.9 cache."""
    for setting in (
        ("url", cloud.server.api_url),
        ("apikey", cloud.key),
        ("secretkey", cloud.secret),
        ("display", "json"),
        ("color", "false"),
    ):
        ran = _monkey(cloudmonkey, home, "set", *setting)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    synced = _monkey(cloudmonkey, home, "sync")
    # `sync` prints through pygments whatever the color setting: drop the escapes.
    said = re.sub(r"\x1b\[[0-9;]*m", "", synced.stdout)
    assert synced.returncode == 0 and "APIs discovered and cached" in said, said


def test_cloudmonkey_deploys_stops_starts_and_destroys_blocking_on_each_job(
    cloud: Cloud,
    cloudmonkey: tuple[str, Path],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    def monkey(*command: str) -> dict[str, Any]:
        """Run an async command, blocking on its job: the finished job's result."""
        ran = _monkey(cloudmonkey, tmp_path, *command)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        # A spinner while it polls, then the finished queryAsyncJobResult as JSON.
        # (cloudmonkey prints errors on stdout and still exits 0: the JSON must parse.)
        job: dict[str, Any] = json.loads(ran.stdout[ran.stdout.index("{") :])
        assert job["jobstatus"] == 1 and job["jobresultcode"] == 0, job
        result: dict[str, Any] = job["jobresult"]
        return result

    _configure(cloud, cloudmonkey, tmp_path)
    admin = cloud.cs()
    (zone,) = admin.listZones(name="Demo")["zone"]
    offering = next(
        o for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "Small Instance"
    )
    deployed = monkey(
        "deploy", "virtualmachine", f"zoneid={zone['id']}", f"templateid={cloud.template}",
        f"serviceofferingid={offering['id']}", "name=monkey-1",
    )["virtualmachine"]  # fmt: skip
    assert deployed["state"] == "Running" and deployed["name"] == "monkey-1"
    vm_id = deployed["id"]

    def state() -> str:
        (vm,) = admin.listVirtualMachines(id=vm_id, listall="true")["virtualmachine"]
        return str(vm["state"])

    assert state() == "Running"
    assert monkey("stop", "virtualmachine", f"id={vm_id}")["virtualmachine"]["state"] == "Stopped"
    assert state() == "Stopped"
    assert monkey("start", "virtualmachine", f"id={vm_id}")["virtualmachine"]["state"] == "Running"
    assert state() == "Running"
    destroyed = monkey("destroy", "virtualmachine", f"id={vm_id}")["virtualmachine"]
    assert destroyed["state"] == "Destroyed"
    assert state() == "Destroyed"


def test_cloudmonkey_reports_a_failed_job(
    cloud: Cloud,
    cloudmonkey: tuple[str, Path],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    # A job that fails (no host has the memory) comes back as 4.1's failed job:
    # jobstatus 2 with jobresult {errorcode, errortext}, which cloudmonkey prints.
    admin = cloud.cs()
    (zone,) = admin.listZones(name="Demo")["zone"]
    huge = admin.createServiceOffering(
        name="monkey-huge", displaytext="More memory than any host", cpunumber=1,
        cpuspeed=500, memory=1024 * 1024,
    )["serviceoffering"]  # fmt: skip
    _configure(cloud, cloudmonkey, tmp_path)
    failed = _monkey(
        cloudmonkey, tmp_path, "deploy", "virtualmachine", f"zoneid={zone['id']}",
        f"templateid={cloud.template}", f"serviceofferingid={huge['id']}", "name=monkey-huge",
    )  # fmt: skip
    said = failed.stdout + failed.stderr
    assert "failed" in said and "Error 533" in said, said
