"""``cumulo api`` (the cloudmonkey-style client) against a live ``cumulo serve``, plus
its signing checked against 4.1's rules and against the ``cs`` client.

The live tests drive the click command in-process (click's ``CliRunner``) while every
API call still goes over real HTTP to the gunicorn server; one test runs the real
``cumulo`` console script to prove the command is registered and completes names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result
from cs import CloudStack

from cumulo_api.client import signer
from cumulo_api.client.cli import api
from cumulo_api.client.config import ClientConfig, load, save
from cumulo_api.client.output import render

if TYPE_CHECKING:
    from server_fixture import LiveServer

# The live server fixture; imported by pytest (with assertion rewriting), not by us.
pytest_plugins = ("server_fixture",)

CUMULO = str(Path(sys.executable).with_name("cumulo"))  # the console script under test


# ---- signing, without a server -------------------------------------------------------


def test_canonical_string_follows_java_urlencoder_and_case_sensitive_order() -> None:
    params = [
        ("displayname", "b"),
        ("displayText", "a b~c*[0]é"),
        ("command", "listZones"),
        ("signature", "left out"),
    ]
    # Java sorts the original names ('T' < 'n'), escapes '~' '[' ']' and UTF-8, keeps
    # '*', writes space as %20 and lower-cases everything at the end.
    assert signer.canonical_string(params) == (
        "command=listzones&displaytext=a%20b%7ec*%5b0%5d%c3%a9&displayname=b"
    )


def test_signature_is_hmac_sha1_base64_of_the_canonical_string() -> None:
    params = [("command", "listAccounts"), ("response", "json")]
    expected = base64.b64encode(
        hmac.new(b"secret", b"command=listaccounts&response=json", hashlib.sha1).digest()
    ).decode()
    assert signer.signature(params, "secret") == expected


def test_sign_adds_key_expiry_and_signature_last() -> None:
    signed = signer.sign([("command", "listZones")], "KEY", "SECRET", lifetime_seconds=60)
    names = [name for name, _ in signed]
    assert names == ["command", "apiKey", "signatureVersion", "expires", "signature"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", dict(signed)["expires"])
    assert signed[-1][1] == signer.signature(signed[:-1], "SECRET")
    unversioned = signer.sign([("command", "listZones")], "KEY", "S", signature_version=2)
    assert [name for name, _ in unversioned] == ["command", "apiKey", "signature"]


def test_signature_agrees_with_cs_where_cs_matches_java() -> None:
    # cs sorts like Java and differs only on '~' (clients.md §1): elsewhere it must agree.
    client = CloudStack(endpoint="http://127.0.0.1:1/client/api", key="K", secret="S")
    params = {"command": "createUser", "firstname": "a b*[x]é", "apiKey": "K", "response": "json"}
    theirs = dict(params)
    client._sign(theirs)  # type: ignore[no-untyped-call]
    assert theirs["signature"] == signer.signature(list(params.items()), "S")


def test_config_file_is_private_and_never_shows_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "api.ini"
    config = ClientConfig().with_setting("secretkey", "s3cr3t").with_setting("output", "JSON")
    save(path, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load(path) == config and load(path).output == "json"
    assert config.describe("secretkey") == "(set)"
    assert "s3cr3t" not in repr(config)


def test_output_tables_lists_objects_and_fields() -> None:
    answer = {
        "count": 2,
        "account": [
            {"id": "a1", "name": "ops", "user": [{"id": "u1", "username": "ann"}], "x": None},
            {"id": "a2", "name": "dev", "isdefault": True, "user": []},
        ],
    }
    assert render(answer, "table").splitlines() == [
        "id  name  user  x  isdefault",
        "--  ----  ----  -  ---------",
        "a1  ops   ann",
        "a2  dev            true",
    ]
    assert render({"domain": {"id": "d1", "name": "Sales"}}, "table").splitlines() == [
        "field  value",
        "-----  -----",
        "id     d1",
        "name   Sales",
    ]
    assert render({}, "table") == ""
    assert json.loads(render(answer, "json", fields=["name"])) == {
        "count": 2,
        "account": [{"name": "ops"}, {"name": "dev"}],
    }


# ---- against the live server ---------------------------------------------------------


@pytest.fixture
def cli(live_server: LiveServer, tmp_path: Path) -> CliRunner:
    """A runner whose ``cumulo api`` settings file is fresh and private to the test."""
    runner = CliRunner(env={"CUMULO_API_CONFIG": str(tmp_path / "api.ini")})
    for name, value in (("url", live_server.url), ("pollinterval", "0.1")):
        assert run(runner, "set", name, value).exit_code == 0
    return runner


def run(runner: CliRunner, *args: str) -> Result:
    """``cumulo api ARGS`` (stdout and stderr kept apart)."""
    return runner.invoke(api, list(args), catch_exceptions=False)


@pytest.fixture
def keyed(cli: CliRunner, live_server: LiveServer) -> CliRunner:
    """``cli`` with the admin's keys set, the secret given at the hidden prompt."""
    assert run(cli, "set", "apikey", live_server.apikey).exit_code == 0
    stored = cli.invoke(api, ["set", "secretkey"], input=live_server.secretkey + "\n")
    assert stored.exit_code == 0, stored.output
    assert live_server.secretkey not in stored.output
    return cli


def test_set_and_get_never_print_the_secret_key(keyed: CliRunner, live_server: LiveServer) -> None:
    shown = run(keyed, "get")
    assert shown.exit_code == 0
    assert f"apikey = {live_server.apikey}" in shown.stdout
    assert "secretkey = (set)" in shown.stdout
    assert live_server.secretkey not in shown.stdout + shown.stderr
    assert run(keyed, "get", "secretkey").stdout.strip() == "(set)"


def test_list_command_as_a_table_and_as_json(keyed: CliRunner) -> None:
    table = run(keyed, "listAccounts", "listall=true")
    assert table.exit_code == 0, table.stderr
    header, rule, *rows = table.stdout.splitlines()
    assert header.split()[:2] == ["id", "name"] and set(rule) <= {"-", " "}
    assert "admin" in {row.split()[1] for row in rows}

    verb_form = run(keyed, "-o", "json", "list", "accounts", "listall=true", "name=admin")
    assert verb_form.exit_code == 0, verb_form.stderr
    answer = json.loads(verb_form.stdout)
    assert answer["count"] == 1 and answer["account"][0]["name"] == "admin"

    # A POST form body, and a signature without expires (signatureVersion unset), work too.
    assert run(keyed, "set", "signatureversion", "2").exit_code == 0
    posted = run(keyed, "-o", "json", "listAccounts", "name=admin", "--post")
    assert posted.exit_code == 0, posted.stderr
    assert json.loads(posted.stdout)["account"][0]["name"] == "admin"

    filtered = run(keyed, "listAccounts", "name=admin", "--filter", "name,accounttype")
    assert filtered.stdout.splitlines()[0].split() == ["name", "accounttype"]
    assert filtered.stdout.splitlines()[2].split() == ["admin", "1"]


def test_async_command_is_followed_to_its_end(keyed: CliRunner) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = run(
        keyed,
        "-o",
        "json",
        "createAccount",
        "accounttype=0",
        f"username={name}",
        "password=pw~[1]",
        f"email={name}@example.com",
        "firstname=Cli~[x]",
        "lastname=User",
    )
    assert created.exit_code == 0, created.stderr
    account = json.loads(created.stdout)["account"]
    assert account["user"][0]["firstname"] == "Cli~[x]"

    deleted = run(keyed, "-o", "json", "deleteAccount", f"id={account['id']}")
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"success": True}  # the job's result, not a jobid
    remaining = run(keyed, "-o", "json", "listAccounts", f"name={name}", "listall=true")
    assert remaining.exit_code == 0, remaining.stderr
    assert json.loads(remaining.stdout) == {}

    started = run(keyed, "-o", "json", "deleteDomain", "id=" + _new_domain(keyed), "--no-wait")
    assert set(json.loads(started.stdout)) == {"jobid"}


def _new_domain(runner: CliRunner) -> str:
    made = run(runner, "-o", "json", "createDomain", f"name=cli-{uuid.uuid4().hex[:8]}")
    assert made.exit_code == 0, made.stderr
    return str(json.loads(made.stdout)["domain"]["id"])


def test_errors_are_one_line_with_the_errorcode_and_fail(keyed: CliRunner) -> None:
    missing = run(keyed, "createDomain")
    assert missing.exit_code == 1
    assert missing.stdout == ""
    (line,) = missing.stderr.splitlines()
    assert line.startswith("Error 431: ") and "name" in line

    unknown = run(keyed, "noSuchCommand")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("Error 432: ")

    failed_job = run(keyed, "deleteAccount", f"id={uuid.uuid4()}")
    assert failed_job.exit_code == 1
    assert failed_job.stderr.startswith("Error 431: ")

    assert run(keyed, "set", "secretkey", "wrong").exit_code == 0
    refused = run(keyed, "listAccounts")
    assert refused.exit_code == 1 and refused.stderr.startswith("Error 401: ")


def test_login_session_mode(cli: CliRunner, tmp_path: Path, live_server: LiveServer) -> None:
    no_credentials = run(cli, "listAccounts")
    assert no_credentials.exit_code == 1 and "Error 401" in no_credentials.stderr

    wrong = run(cli, "login", "-u", "admin", "-p", "not-the-password", "-d", "/")
    assert wrong.exit_code == 1 and wrong.stderr.startswith("Error 531: ")

    logged_in = cli.invoke(api, ["login", "-u", "admin", "-d", "/"], input="password\n")
    assert logged_in.exit_code == 0, logged_in.output
    assert "Logged in as admin" in logged_in.stdout
    stored = (tmp_path / "api.ini").read_text()
    assert "password" not in stored.replace("sessionkey", "")
    assert stat.S_IMODE((tmp_path / "api.ini").stat().st_mode) == 0o600

    users = run(cli, "-o", "json", "listUsers", "username=admin", "listall=true")
    assert users.exit_code == 0, users.stderr
    assert [user["id"] for user in json.loads(users.stdout)["user"]] == [live_server.admin_user_id]

    assert run(cli, "logout").stdout.strip() == "Logged out."
    assert "[session]" not in (tmp_path / "api.ini").read_text()
    after = run(cli, "listAccounts")
    assert after.exit_code == 1 and "Error 401" in after.stderr


def test_sync_caches_listapis_and_the_console_script_completes_from_it(
    keyed: CliRunner, tmp_path: Path, live_server: LiveServer
) -> None:
    synced = run(keyed, "sync")
    assert synced.exit_code == 0, synced.stderr
    cache = json.loads((tmp_path / "api-cache.json").read_text())
    names = {entry["name"] for entry in cache["apis"]}
    assert {"listAccounts", "deleteAccount", "listApis"} <= names
    assert live_server.secretkey not in json.dumps(cache)

    environment = {**os.environ, "CUMULO_API_CONFIG": str(tmp_path / "api.ini")}

    def complete(words: str) -> list[str]:
        done = subprocess.run(
            [CUMULO],
            env={
                **environment,
                "_CUMULO_COMPLETE": "bash_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert {"listAccounts", "listAsyncJobs"} <= set(complete("cumulo api listA"))
    assert "accounts" in complete("cumulo api list acc")
    offered = complete("cumulo api listAccounts listall=true ")
    assert {"name=", "keyword=", "domainid="} <= set(offered) and "listall=" not in offered

    # And the real console script runs an API call.
    done = subprocess.run(
        [CUMULO, "api", "--output", "json", "listAccounts", "name=admin"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["account"][0]["name"] == "admin"
