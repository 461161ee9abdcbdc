"""Unchanged real CloudStack clients against ``cumulo serve`` over real HTTP (issue 3's
"Must show"): ``cs`` 5.x (GET and POST), Apache Libcloud 3.x, and cloudmonkey 5.3.3
when Python 2.7 is present.

Each client creates a domain, an account (with its first user) and another user,
registers keys for the new user, lists them, proves the new user's keys work and see
only that user's own account, and follows an async ``deleteAccount`` to its end. Values
carry ``~``, ``[`` and ``]``: ``cs`` leaves ``~`` raw and Libcloud leaves all three raw
when signing (clients.md), so these calls pass only if the server accepts the signing
variants those clients produce; Libcloud's lower-cased key order is exercised with two
parameters whose order changes with case (``isRecursive`` / ``iscleanuprequired``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cs import CloudStack, CloudStackApiException
from libcloud.common.cloudstack import CloudStackConnection
from libcloud.common.types import InvalidCredsError, ProviderError
from libcloud.compute.providers import get_driver
from libcloud.compute.types import Provider

from cumulo_api.client import signer

if TYPE_CHECKING:
    from server_fixture import LiveServer

# The live server fixture; imported by pytest (with assertion rewriting), not by us.
pytest_plugins = ("server_fixture",)

# The awkward characters: '~' (cs and Libcloud leave it raw), '[' and ']' (Libcloud).
FIRSTNAME = "Tilde~and [brackets]"
PASSWORD = "Pa ss~word[1]"


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _account_spec(prefix: str, domain_id: str) -> dict[str, Any]:
    return {
        "accounttype": 0,
        "account": f"{prefix}-acct",
        "username": f"{prefix}-owner",
        "password": PASSWORD,
        "email": f"{prefix}@example.com",
        "firstname": FIRSTNAME,
        "lastname": "Owner",
        "domainid": domain_id,
    }


def _user_spec(prefix: str, account: dict[str, Any]) -> dict[str, Any]:
    return {
        "account": account["name"],
        "domainid": account["domainid"],
        "username": f"{prefix}-second",
        "password": PASSWORD,
        "email": f"{prefix}.second@example.com",
        "firstname": FIRSTNAME,
        "lastname": "Second ~]",
    }


def test_these_values_really_need_the_signing_variants() -> None:
    # The premise of the tests below: with these values and names, neither client signs
    # the string 4.1 verifies first, so they pass only through the accepted variants.
    params = {"command": "createUser", "firstname": FIRSTNAME, "apiKey": "K", "response": "json"}
    java = signer.signature(list(params.items()), "S")
    signed_by_cs = dict(params)
    CloudStack(endpoint="http://127.0.0.1:1/client/api", key="K", secret="S")._sign(signed_by_cs)  # type: ignore[no-untyped-call]
    assert signed_by_cs["signature"] != java
    libcloud = CloudStackConnection("K", "S")
    assert libcloud._make_signature(params).decode() != java
    ordered = {"command": "listAccounts", "isRecursive": "true", "iscleanuprequired": "false"}
    assert libcloud._make_signature(ordered).decode() != signer.signature(
        list(ordered.items()), "S"
    )


# ---- cs ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_cs_creates_lists_registers_keys_and_deletes_async(
    live_server: LiveServer, method: str
) -> None:
    admin = CloudStack(
        endpoint=live_server.url,
        key=live_server.apikey,
        secret=live_server.secretkey,
        method=method,
        poll_interval=0.2,
        job_timeout=60,
    )
    prefix = f"cs-{method}-{_suffix()}"
    domain = admin.createDomain(name=f"{prefix}-dom")["domain"]
    assert domain["name"] == f"{prefix}-dom"
    assert domain["parentdomainid"]

    account = admin.createAccount(**_account_spec(prefix, domain["id"]))["account"]
    assert account["name"] == f"{prefix}-acct"
    assert account["domainid"] == domain["id"]
    assert account["accounttype"] == 0
    assert [user["firstname"] for user in account["user"]] == [FIRSTNAME]

    user = admin.createUser(**_user_spec(prefix, account))["user"]
    assert user["username"] == f"{prefix}-second"
    assert user["firstname"] == FIRSTNAME and user["lastname"] == "Second ~]"
    assert user["accountid"] == account["id"]

    keys = admin.registerUserKeys(id=user["id"])["userkeys"]
    assert len(keys["apikey"]) == 86 and len(keys["secretkey"]) == 86

    listed = admin.listUsers(domainid=domain["id"], listall=True)
    assert listed["count"] == 2
    by_name = {entry["username"]: entry for entry in listed["user"]}
    assert by_name[f"{prefix}-second"]["apikey"] == keys["apikey"]
    accounts = admin.listAccounts(domainid=domain["id"], listall=True)
    assert [entry["id"] for entry in accounts["account"]] == [account["id"]]
    # cs pages with pagesize=500 when fetch_list is set: 4.1's default page size.
    every = admin.listDomains(listall=True, fetch_list=True)
    assert domain["id"] in {entry["id"] for entry in every}

    tenant = CloudStack(
        endpoint=live_server.url, key=keys["apikey"], secret=keys["secretkey"], method=method
    )
    own = tenant.listAccounts(listall=True)
    assert [entry["id"] for entry in own["account"]] == [account["id"]]
    assert {entry["username"] for entry in own["account"][0]["user"]} == {
        f"{prefix}-owner",
        f"{prefix}-second",
    }
    with pytest.raises(CloudStackApiException) as admin_only:
        tenant.listUsers()  # 4.1: listUsers is for admins (bitmask 7)
    assert admin_only.value.error["errorcode"] == 432
    with pytest.raises(CloudStackApiException) as denied:
        tenant.createDomain(name=f"{prefix}-forbidden")
    assert denied.value.error["errorcode"] == 432

    result = admin.deleteAccount(id=account["id"], fetch_result=True)
    assert result == {"success": True}
    # 4.1 answers 431 for the id of a removed account; by domain it is simply gone.
    assert admin.listAccounts(domainid=domain["id"], listall=True) == {}
    with pytest.raises(CloudStackApiException) as gone:
        tenant.listAccounts()
    assert gone.value.error["errorcode"] == 401


def test_cs_sees_errors_as_41_renders_them(live_server: LiveServer) -> None:
    admin = CloudStack(
        endpoint=live_server.url, key=live_server.apikey, secret=live_server.secretkey
    )
    with pytest.raises(CloudStackApiException) as missing:
        admin.createDomain()
    assert missing.value.error["errorcode"] == 431
    assert "name" in missing.value.error["errortext"]
    with pytest.raises(CloudStackApiException) as unknown:
        admin.noSuchCommand()
    assert unknown.value.error["errorcode"] == 432
    wrong = CloudStack(endpoint=live_server.url, key=live_server.apikey, secret="not-the-secret")
    with pytest.raises(CloudStackApiException) as refused:
        wrong.listAccounts()
    assert refused.value.error["errorcode"] == 401


# ---- Apache Libcloud -----------------------------------------------------------------


def _libcloud(server: LiveServer, key: str, secret: str) -> Any:
    driver_class = get_driver(Provider.CLOUDSTACK)
    # secure=False: the driver ignores the URL's scheme and would speak TLS (clients.md).
    return driver_class(
        key, secret, secure=False, host=server.host, port=server.port, path="/client/api"
    )


def test_libcloud_creates_lists_registers_keys_and_deletes_async(live_server: LiveServer) -> None:
    admin = _libcloud(live_server, live_server.apikey, live_server.secretkey)
    prefix = f"lc-{_suffix()}"
    domain = admin._sync_request("createDomain", params={"name": f"{prefix}-dom"})["domain"]
    spec = _account_spec(prefix, domain["id"])
    account = admin._sync_request("createAccount", params=spec)["account"]
    assert account["name"] == f"{prefix}-acct"
    assert account["user"][0]["firstname"] == FIRSTNAME

    user = admin._sync_request("createUser", params=_user_spec(prefix, account))["user"]
    assert user["firstname"] == FIRSTNAME
    keys = admin._sync_request("registerUserKeys", params={"id": user["id"]})["userkeys"]

    # Lower-cased key order differs from Java's here: 'R' < 'c' but 'r' > 'c'.
    listed = admin._sync_request(
        "listAccounts",
        params={"domainid": domain["id"], "isRecursive": "true", "iscleanuprequired": "false"},
    )
    assert [entry["id"] for entry in listed["account"]] == [account["id"]]
    users = admin._sync_request("listUsers", params={"id": user["id"], "listall": "True"})
    assert users["count"] == 1 and users["user"][0]["apikey"] == keys["apikey"]

    tenant = _libcloud(live_server, keys["apikey"], keys["secretkey"])
    own = tenant._sync_request("listAccounts", params={"listall": "True"})
    assert [entry["id"] for entry in own["account"]] == [account["id"]]
    with pytest.raises(ProviderError) as denied:
        tenant._sync_request("createDomain", params={"name": f"{prefix}-forbidden"})
    assert denied.value.http_code == 432

    result = admin._async_request("deleteAccount", params={"id": account["id"]})
    assert result == {"success": True}
    gone = admin._sync_request("listAccounts", params={"domainid": domain["id"], "listall": "true"})
    assert gone == {}
    with pytest.raises(InvalidCredsError):
        tenant._sync_request("listAccounts")


# ---- cloudmonkey 5.3.3 (Python 2.7) --------------------------------------------------

CLOUDMONKEY = "cloudmonkey==5.3.3.1"
# clients.md §3: the newest versions of its dependencies that still run on Python 2.7.
CLOUDMONKEY_DEPENDENCIES = (
    "requests<2.28",
    "requests-toolbelt<1",
    "Pygments<2.6",
    "prettytable<1.1",
    "argcomplete<2",
    "dicttoxml",
)


def _python27() -> str | None:
    candidates = [shutil.which("python2.7")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(path) for path in sorted(pyenv.glob("2.7*/bin/python2.7"))]
    for candidate in candidates:
        if (
            candidate
            and subprocess.run(
                [candidate, "-c", "import sys; assert sys.version_info[:2] == (2, 7)"],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        ):
            return candidate
    return None


@pytest.fixture(scope="session")
def cloudmonkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``(python2.7, site directory)`` with cloudmonkey 5.3.3 and its dependencies."""
    python = _python27()
    if python is None:
        pytest.skip("python2.7 not present")
    target = tmp_path_factory.mktemp("cloudmonkey")
    for extra, packages in (([], CLOUDMONKEY_DEPENDENCIES), (["--no-deps"], (CLOUDMONKEY,))):
        installed = subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "--target",
                str(target),
                *extra,
                *packages,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert installed.returncode == 0, f"pip (Python 2.7) failed:\n{installed.stderr}"
    yield python, target


def _monkey(
    cloudmonkey: tuple[str, Path], home: Path, *command: str
) -> subprocess.CompletedProcess[str]:
    python, site = cloudmonkey
    environment = {**os.environ, "HOME": str(home), "PYTHONPATH": str(site)}
    return subprocess.run(
        [python, "-m", "cloudmonkey.cloudmonkey", *command],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def test_cloudmonkey_syncs_and_lists_accounts(
    live_server: LiveServer, cloudmonkey: tuple[str, Path], tmp_path: Path
) -> None:
    for setting in (
        ("url", live_server.url),
        ("apikey", live_server.apikey),
        ("secretkey", live_server.secretkey),
        ("display", "json"),
        ("color", "false"),
    ):
        assert _monkey(cloudmonkey, tmp_path, "set", *setting).returncode == 0

    synced = _monkey(cloudmonkey, tmp_path, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # `sync` prints through pygments whatever the color setting: drop the escapes.
    said = re.sub(r"\x1b\[[0-9;]*m", "", synced.stdout)
    assert re.search(r"^\d+ APIs discovered and cached$", said, re.MULTILINE), said
    cache = json.loads((tmp_path / ".cloudmonkey" / "cache").read_text())
    assert "accounts" in cache["list"] and cache["count"] > 10

    listed = _monkey(cloudmonkey, tmp_path, "list", "accounts", "listall=true")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    names = {entry["name"] for entry in json.loads(listed.stdout)["account"]}
    assert "admin" in names


def test_cloudmonkey_logs_in_with_a_password_when_no_keys_are_set(
    live_server: LiveServer, cloudmonkey: tuple[str, Path], tmp_path: Path
) -> None:
    # No apikey: cloudmonkey logs in as admin/password (its defaults) and sends the
    # session key with the JSESSIONID cookie (clients.md §3, path 2).
    for setting in (("url", live_server.url), ("display", "json"), ("color", "false")):
        assert _monkey(cloudmonkey, tmp_path, "set", *setting).returncode == 0
    listed = _monkey(cloudmonkey, tmp_path, "list", "users", "username=admin", "listall=true")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    users = json.loads(listed.stdout)["user"]
    assert [user["id"] for user in users] == [live_server.admin_user_id]
