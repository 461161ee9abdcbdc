"""``cumulo setup-databases`` and ``cumulo embedded``, end to end, as an operator runs them.

Every test runs the REAL ``cumulo`` console script in a subprocess with its own
``CUMULO_CONF_DIR``. The MariaDB tests (marked ``mariadb``) need the server at
127.0.0.1:3306 (root, no password; ``CUMULO_SETUP_TEST_MARIADB`` or a MySQL
``CUMULO_TEST_DB`` may name another): they fail when it is unreachable under CI and
skip with the reason otherwise. Each uses unique database and user names and drops them
afterwards. The ``ENC()`` values of the main flows are decrypted with the real jasypt.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cumulo import crypto
from cumulo.auth.authenticators import Pbkdf2Authenticator
from cumulo.settings import DbProperties
from cumulo.setup.admin_cli import admin
from cumulo.setup.arguments import ArgumentError, parse_credentials, parse_target
from cumulo.setup.notices import SET_PASSWORD_COMMAND

MD5_OF_PASSWORD = "5f4dcc3b5aa765d61d8327deb882cf99"
MARIADB_DEFAULT = "mysql+pymysql://root@127.0.0.1:3306/"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _cumulo_executable() -> str:
    beside = Path(sys.executable).with_name("cumulo")
    found = str(beside) if beside.exists() else shutil.which("cumulo")
    if found is None:
        pytest.fail("the cumulo console script is not installed (pip install -e ./core)")
    return found


@dataclass
class Run:
    """A finished ``cumulo`` subprocess."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """The lines click prints for an operator error ("Error: ...")."""
        return [line for line in self.stderr.splitlines() if line.startswith("Error:")]


def cumulo(conf: Path, *args: str) -> Run:
    """Run ``cumulo ARGS`` with ``CUMULO_CONF_DIR=conf``; the environment's plugins load."""
    env = dict(os.environ, CUMULO_CONF_DIR=str(conf))
    done = subprocess.run(
        [_cumulo_executable(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def setup(conf: Path, *args: str, options: str = "") -> Run:
    """``cumulo setup-databases ARGS OPTIONS``; ``options`` is split on spaces."""
    return cumulo(conf, "setup-databases", *args, *options.split())


def assert_one_line_error(run: Run, *fragments: str) -> None:
    """Exit status 1 and exactly one ``Error:`` line holding every fragment."""
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert len(run.error_lines) == 1, run.stderr
    for fragment in fragments:
        assert fragment in run.error_lines[0], run.stderr


def file_state(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mode of every file below ``directory`` (empty if it does not exist)."""
    if not directory.exists():
        return {}
    return {
        str(path.relative_to(directory)): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def inner(value: str) -> str:
    text = crypto.unwrap_enc(value)
    assert text is not None, f"expected an ENC(...) value, got {value!r}"
    return text


# ---- argument syntax (no server needed) ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "user", "password", "host", "port"),
    [
        ("cloud:secret@localhost", "cloud", "secret", "localhost", 3306),
        ("cloud:@db.example.org:3307", "cloud", "", "db.example.org", 3307),
        ("cloud@10.0.0.5", "cloud", "", "10.0.0.5", 3306),
        ("cloud:p@ss:w@rd@db:3310", "cloud", "p@ss:w@rd", "db", 3310),
        ("cloud:x@[::1]:3306", "cloud", "x", "::1", 3306),
        ("cloud:x@fd00::5", "cloud", "x", "fd00::5", 3306),
    ],
)
def test_target_syntax(text: str, user: str, password: str, host: str, port: int) -> None:
    target = parse_target(text)
    assert (target.credentials.user, target.credentials.password) == (user, password)
    assert (target.host, target.port) == (host, port)
    assert password not in repr(target) or not password


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cloud:secret", "user:password@host"),
        (":secret@db", "the user is missing"),
        ("cloud:secret@", "host is missing"),
        ("cloud:secret@db:0", "port must be a number"),
        ("cloud:secret@db:http", "port must be a number"),
    ],
)
def test_target_syntax_errors_never_repeat_the_password(text: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message) as raised:
        parse_target(text)
    assert "secret" not in str(raised.value)


def test_deploy_as_allows_an_empty_password() -> None:
    assert parse_credentials("root:", what="--deploy-as").password == ""
    assert parse_credentials("root:a:b", what="--deploy-as").password == "a:b"


# ---- MariaDB ------------------------------------------------------------------------


def _mariadb_url() -> sa.URL:
    configured = os.environ.get("CUMULO_SETUP_TEST_MARIADB", "").strip()
    test_db = os.environ.get("CUMULO_TEST_DB", "").strip()
    if not configured and test_db.startswith(("mysql", "mariadb")):
        configured = test_db
    url = sa.make_url(configured or MARIADB_DEFAULT)
    return url.set(drivername="mysql+pymysql", database=None)


@pytest.fixture(scope="module")
def mariadb() -> Iterator[sa.Engine]:
    """An administrative engine on the MariaDB server the deploy tests use."""
    url = _mariadb_url()
    engine = sa.create_engine(
        url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = f"MariaDB at {url.render_as_string()} unreachable: {str(exc.orig)[:200]}"
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Deployment:
    """Unique names for one test's MariaDB deployment, and how to reach the server."""

    user: str
    cloud: str
    usage: str
    host: str
    port: int
    root: str

    def target(self, password: str) -> str:
        return f"{self.user}:{password}@{self.host}:{self.port}"

    def names(self) -> tuple[str, ...]:
        return ("--database-name", self.cloud, "--usage-database-name", self.usage)

    def deploy(self, password: str) -> tuple[str, ...]:
        """The positional login, ``--deploy-as`` and the database names."""
        return (self.target(password), f"--deploy-as={self.root}", *self.names())


@pytest.fixture
def deployment(mariadb: sa.Engine) -> Iterator[Deployment]:
    """Unique names; whatever a test created under them is dropped afterwards."""
    token = uuid.uuid4().hex[:10]
    url = mariadb.url
    root = f"{url.username}:{url.password or ''}"
    names = Deployment(
        f"cloud_{token}",
        f"cloud_{token}",
        f"cloud_{token}_usage",
        url.host or "",
        url.port or 3306,
        root,
    )
    yield names
    with mariadb.connect() as conn:
        for database in (names.cloud, names.usage):
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{database}`"))
        for host in ("%", "localhost"):
            conn.execute(sa.text("DROP USER IF EXISTS :u@:h"), {"u": names.user, "h": host})


def databases(mariadb: sa.Engine, d: Deployment) -> set[str]:
    with mariadb.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN :n"
            ).bindparams(sa.bindparam("n", expanding=True)),
            {"n": [d.cloud, d.usage]},
        )
        return set(rows.scalars())


def user_hosts(mariadb: sa.Engine, user: str) -> set[str]:
    with mariadb.connect() as conn:
        rows = conn.execute(sa.text("SELECT Host FROM mysql.user WHERE User = :u"), {"u": user})
        return set(rows.scalars())


def database_rows(mariadb: sa.Engine, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``database``, sorted: its content, for comparison."""
    with mariadb.connect() as conn:
        tables = conn.execute(
            sa.text("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = :d"),
            {"d": database},
        ).scalars()
        return {
            table: sorted(
                (
                    tuple(row)
                    for row in conn.execute(sa.text(f"SELECT * FROM `{database}`.`{table}`"))
                ),
                key=repr,
            )
            for table in list(tables)
        }


def login(d: Deployment, password: str, database: str | None = None) -> sa.Engine:
    url = sa.URL.create(
        "mysql+pymysql",
        username=d.user,
        password=password,
        host=d.host,
        port=d.port,
        database=database,
    )
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


@pytest.mark.mariadb
def test_deploy_as_creates_databases_user_and_jasypt_readable_properties(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path, jasypt: Any
) -> None:
    conf = tmp_path / "conf"
    # The "Must show" command, with unique names and -i/-r on top.
    run = setup(
        conf,
        deployment.target("secret"),
        f"--deploy-as={deployment.root}",
        *deployment.names(),
        options="-e file -m K1 -k K2 -i 10.1.1.5 -r 2",
    )
    assert run.returncode == 0, run.stderr
    assert "Successfully initialized the database." in run.stdout
    assert "'admin' user's password is the default 'password'" in run.stderr
    assert SET_PASSWORD_COMMAND in run.stderr

    assert databases(mariadb, deployment) == {deployment.cloud, deployment.usage}
    assert user_hosts(mariadb, deployment.user) == {"%", "localhost"}
    # The new user logs in with its password and sees both databases.
    engine = login(deployment, "secret")
    try:
        with engine.connect() as conn:
            visible = set(conn.execute(sa.text("SHOW DATABASES")).scalars())
            assert {deployment.cloud, deployment.usage} <= visible
            admin_row = conn.execute(
                sa.text(
                    "SELECT u.password, a.type, a.account_name, d.path"
                    f" FROM `{deployment.cloud}`.user u"
                    f" JOIN `{deployment.cloud}`.account a ON a.id = u.account_id"
                    f" JOIN `{deployment.cloud}`.domain d ON d.id = a.domain_id"
                    " WHERE u.username = 'admin'"
                )
            ).one()
            assert tuple(admin_row) == (MD5_OF_PASSWORD, 1, "admin", "/")
            system_id = conn.execute(
                sa.text(f"SELECT id FROM `{deployment.cloud}`.account WHERE account_name='system'")
            ).scalar_one()
            assert system_id == 1
    finally:
        engine.dispose()

    properties = DbProperties.read(conf / "db.properties")
    # The real jasypt reads what we wrote, with the management server key.
    algorithm = crypto.DEFAULT_ALGORITHM
    assert jasypt.decrypt(inner(properties["db.cloud.password"]), "K1", algorithm) == "secret"
    assert jasypt.decrypt(inner(properties["db.usage.password"]), "K1", algorithm) == "secret"
    assert jasypt.decrypt(inner(properties["db.cloud.encrypt.secret"]), "K1", algorithm) == "K2"
    assert properties["db.cloud.encryption.type"] == "file"
    assert properties["db.cloud.name"] == deployment.cloud
    assert properties["db.usage.name"] == deployment.usage
    assert properties["db.cloud.username"] == deployment.user
    assert (properties["region.id"], properties["cluster.node.IP"]) == ("2", "10.1.1.5")
    assert (conf / "key").read_text().strip() == "K1"
    for name in ("db.properties", "key"):
        assert stat.S_IMODE((conf / name).stat().st_mode) == 0o600


@pytest.mark.mariadb
def test_second_run_refuses_and_changes_nothing(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    first = setup(conf, *deployment.deploy("secret"), options="-m K1 -k K2")
    assert first.returncode == 0, first.stderr
    files_before = file_state(conf)
    rows_before = {db: database_rows(mariadb, db) for db in (deployment.cloud, deployment.usage)}
    assert rows_before[deployment.cloud]["user"], "the seed wrote rows"

    again = setup(conf, *deployment.deploy("other"), options="-m K8 -k K9")
    assert_one_line_error(again, f"database '{deployment.cloud}' already exists", "--recreate")
    assert file_state(conf) == files_before
    assert {db: database_rows(mariadb, db) for db in rows_before} == rows_before
    # The user's password did not change either.
    login(deployment, "secret", deployment.cloud).connect().close()


@pytest.mark.mariadb
def test_recreate_drops_and_recreates(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    assert setup(conf, *deployment.deploy("one"), options="-m K1 -k K2").returncode == 0
    with mariadb.connect() as conn:
        conn.execute(sa.text(f"UPDATE `{deployment.cloud}`.user SET password = 'x'"))

    run = setup(conf, *deployment.deploy("two"), options="-m M2 -k D2 --recreate")
    assert run.returncode == 0, run.stderr
    rows = database_rows(mariadb, deployment.cloud)
    assert MD5_OF_PASSWORD in {row_value for row in rows["user"] for row_value in row}
    properties = DbProperties.read(conf / "db.properties")
    assert properties.database_key("M2") == "D2"
    assert properties.cloud_url("M2").password == "two"
    login(deployment, "two", deployment.cloud).connect().close()
    with pytest.raises(sa.exc.OperationalError):
        login(deployment, "one").connect()


@pytest.mark.mariadb
def test_wrong_deploy_password_creates_nothing(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    run = setup(
        conf,
        deployment.target("secret"),
        "--deploy-as=root:Wr0ng-pw",
        *deployment.names(),
        options="-m K1 -k K2",
    )
    assert_one_line_error(run, "refused user 'root'", "wrong user or password")
    assert "Wr0ng-pw" not in run.stdout + run.stderr
    assert databases(mariadb, deployment) == set()
    assert user_hosts(mariadb, deployment.user) == set()
    assert file_state(conf) == {}


@pytest.mark.mariadb
def test_failure_after_creating_drops_everything_it_created(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    # db.properties cannot be written (a directory is in the way): the last step fails
    # after databases, user, migrations and seed were done.
    (conf / "db.properties").mkdir(parents=True)
    run = setup(conf, *deployment.deploy("secret"), options="-m K1 -k K2")
    assert_one_line_error(run, "db.properties")
    assert databases(mariadb, deployment) == set()
    assert user_hosts(mariadb, deployment.user) == set()
    assert not (conf / "key").exists(), "the key file written just before is taken back"


@pytest.mark.mariadb
def test_secrets_never_appear_in_output(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path
) -> None:
    password, management_key, database_key = "P@ss:w'rd\"-9f", "MgmtKey-7c1e", "DbKey-44aa"
    run = setup(
        tmp_path / "conf",
        *deployment.deploy(password),
        options=f"-m {management_key} -k {database_key}",
    )
    assert run.returncode == 0, run.stderr
    for secret in (password, management_key, database_key):
        assert secret not in run.stdout + run.stderr
    # Quotes, '@' and ':' in the password survive parsing and SQL quoting.
    login(deployment, password, deployment.usage).connect().close()


@pytest.mark.mariadb
def test_additional_server_verifies_then_writes_configuration_only(
    mariadb: sa.Engine, deployment: Deployment, tmp_path: Path
) -> None:
    first = setup(tmp_path / "first", *deployment.deploy("secret"), options="-m K1 -k K2")
    assert first.returncode == 0, first.stderr
    rows_before = database_rows(mariadb, deployment.cloud)

    second = tmp_path / "second"
    # No --deploy-as: an additional management server (its own -m and -e are allowed).
    run = setup(
        second,
        deployment.target("secret"),
        *deployment.names(),
        options="-e web -m M-second -k K2 -i 10.1.1.6",
    )
    assert run.returncode == 0, run.stderr
    assert "Successfully initialized" not in run.stdout
    assert database_rows(mariadb, deployment.cloud) == rows_before
    properties = DbProperties.read(second / "db.properties")
    assert properties.encryption_type == "web"
    assert properties.database_key("M-second") == "K2"
    assert properties.cluster_node_ip == "10.1.1.6"
    assert not (second / "key").exists(), "-e web never stores the key"

    for name, password, options, fragments in (
        ("wrong-k", "secret", "-m K1 -k K3", ("-k", "does not decrypt")),
        ("wrong-pw", "not-it", "-m K1 -k K2", (f"refused user '{deployment.user}'",)),
    ):
        conf = tmp_path / name
        failed = setup(conf, deployment.target(password), *deployment.names(), options=options)
        assert_one_line_error(failed, *fragments)
        assert file_state(conf) == {}
    missing = setup(
        tmp_path / "missing",
        deployment.target("secret"),
        options=f"-m K1 -k K2 --database-name {deployment.cloud}_nope"
        f" --usage-database-name {deployment.usage}",
    )
    assert_one_line_error(missing, f"{deployment.cloud}_nope")
    assert database_rows(mariadb, deployment.cloud) == rows_before


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    # Port 1 on the loopback: nothing listens there.
    run = setup(
        tmp_path / "conf", "cloud:secret@127.0.0.1:1", "--deploy-as=root:", options="-m K1 -k K2"
    )
    assert_one_line_error(run, "cannot reach the database server at 127.0.0.1:1")
    assert file_state(tmp_path / "conf") == {}


# ---- embedded SQLite ----------------------------------------------------------------


def embedded_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {
                name: sorted(
                    (tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{name}"'))), key=repr
                )
                for name in names
            }
    finally:
        engine.dispose()


def test_embedded_form_creates_sqlite_deployment(tmp_path: Path, jasypt: Any) -> None:
    conf, data = tmp_path / "conf", tmp_path / "var"
    run = setup(
        conf,
        "cloud:Xq9-pw@db1",
        "--deploy-as=root:",
        "--data-dir",
        str(data),
        options="--embedded -m K1 -k K2",
    )
    assert run.returncode == 0, run.stderr
    assert "Successfully initialized the database." in run.stdout
    # REQ-INST-05: the MySQL arguments are accepted and said to be ignored.
    assert "database login and host given are ignored" in run.stderr
    assert "--deploy-as is ignored" in run.stderr
    assert sorted(p.name for p in data.iterdir()) == ["cloud.db", "cloud_usage.db"]
    for path in data.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    properties = DbProperties.read(conf / "db.properties")
    assert properties.driver() == "sqlite"
    assert properties["db.cloud.name"] == str(data / "cloud.db")
    assert properties["db.usage.name"] == str(data / "cloud_usage.db")
    secret = inner(properties["db.cloud.encrypt.secret"])
    assert jasypt.decrypt(secret, "K1", crypto.DEFAULT_ALGORITHM) == "K2"
    # The ignored login is neither stored nor shown.
    assert "Xq9-pw" not in (conf / "db.properties").read_text() + run.stdout + run.stderr
    # (Only plain values are searched: random ciphertext could contain "db1" by chance.)
    plain = [v for v in properties.values() if crypto.unwrap_enc(v) is None]
    assert not any("db1" in value for value in plain)
    rows = embedded_rows(data / "cloud.db")
    assert {r[2] for r in rows["account"]} == {"system", "admin"}
    assert any(MD5_OF_PASSWORD in row for row in rows["user"])


def test_embedded_default_data_dir_is_beside_the_conf_dir(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "conf"
    run = setup(conf, options="--embedded -m K1 -k K2")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "etc" / "data" / "cloud.db").is_file()
    # Keys were chosen, so no key warning (host warnings depend on the machine).
    assert "key (-m) is the default" not in run.stderr
    assert "key (-k) is the default" not in run.stderr


def test_embedded_keeps_default_key_warnings(tmp_path: Path) -> None:
    run = setup(tmp_path / "conf", options="--embedded")
    assert run.returncode == 0, run.stderr
    assert "management server key (-m) is the default" in run.stderr
    assert "database key (-k) is the default" in run.stderr


def test_embedded_second_run_refuses_and_changes_nothing(tmp_path: Path) -> None:
    conf, data = tmp_path / "conf", tmp_path / "data"
    assert setup(conf, options="--embedded -m K1 -k K2").returncode == 0
    before = (file_state(conf), file_state(data))
    run = setup(conf, options="--embedded -m K8 -k K9")
    assert_one_line_error(run, f"{data / 'cloud.db'} already exists", "--recreate")
    # Byte for byte, and no new files (the check opens the database without a trace).
    assert (file_state(conf), file_state(data)) == before


def test_embedded_recreate_and_failed_recreate(tmp_path: Path) -> None:
    conf, data = tmp_path / "conf", tmp_path / "data"
    assert setup(conf, options="--embedded -m K1 -k K2").returncode == 0
    engine = sa.create_engine(f"sqlite:///{data / 'cloud.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE user SET firstname = 'marker'"))
    engine.dispose()

    recreated = setup(conf, options="--embedded -m M2 -k D2 --recreate")
    assert recreated.returncode == 0, recreated.stderr
    rows = embedded_rows(data / "cloud.db")
    assert all("marker" not in row for row in rows["user"])
    assert DbProperties.read(conf / "db.properties").database_key("M2") == "D2"

    # A recreate that fails at the very end puts the previous deployment back as it was.
    before = (file_state(conf), file_state(data))
    (conf / "db.properties").rename(conf / "saved")
    (conf / "db.properties").mkdir()
    failed = setup(conf, options="--embedded -m M3 -k D3 --recreate")
    assert_one_line_error(failed, "db.properties")
    (conf / "db.properties").rmdir()
    (conf / "saved").rename(conf / "db.properties")
    assert (file_state(conf), file_state(data)) == before


def test_cumulo_embedded_creates_then_reuses(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    first = cumulo(conf, "embedded")
    assert first.returncode == 0, first.stderr
    assert "Successfully initialized the database." in first.stdout
    assert str(tmp_path / "data" / "cloud.db") in first.stdout
    # The loaded plugins are listed with the plugins table (cumulo.plugins_cli).
    assert "KIND" in first.stdout and "cumulo-core" in first.stdout

    # The admin changes the password; the next start keeps the deployment as it is.
    changed = CliRunner().invoke(
        admin,
        ["set-password", "admin"],
        input="n3w-pass\nn3w-pass\n",
        env={"CUMULO_CONF_DIR": str(conf)},
    )
    assert changed.exit_code == 0, changed.output
    second = cumulo(conf, "embedded")
    assert second.returncode == 0, second.stderr
    assert "Using the existing embedded deployment" in second.stdout
    rows = embedded_rows(tmp_path / "data" / "cloud.db")
    admin_rows = [row for row in rows["user"] if "admin" in row]
    assert len(admin_rows) == 1
    # Stored with the first password encoder, PBKDF2 (cumulo.auth.passwords).
    [stored] = [v for v in admin_rows[0] if isinstance(v, str) and v.startswith("pbkdf2_")]
    assert Pbkdf2Authenticator().authenticate("admin", "n3w-pass", stored)
    assert "n3w-pass" not in first.stdout + second.stdout


def test_cumulo_embedded_refuses_a_mysql_configuration(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    DbProperties.for_database(management_key="K1", database_key="K2").write(conf / "db.properties")
    run = cumulo(conf, "embedded")
    assert_one_line_error(run, "configures a mysql database")


def test_set_password_needs_a_known_user_and_matching_input(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    assert setup(conf, options="--embedded -m K1 -k K2").returncode == 0
    env = {"CUMULO_CONF_DIR": str(conf)}
    runner = CliRunner()
    unknown = runner.invoke(admin, ["set-password", "bob"], input="a\na\n", env=env)
    assert unknown.exit_code == 1 and "no user 'bob' in domain '/'" in unknown.output
    differ = runner.invoke(admin, ["set-password"], input="a\nb\n", env=env)
    assert differ.exit_code == 1 and "differ" in differ.output
    rows = embedded_rows(tmp_path / "data" / "cloud.db")
    assert any(MD5_OF_PASSWORD in row for row in rows["user"])


def test_embedded_with_the_aes_algorithm(tmp_path: Path, jasypt: Any) -> None:
    conf = tmp_path / "conf"
    run = setup(conf, options="--embedded -m K1 -k K2 -a pbewithhmacsha512andaes_256")
    assert run.returncode == 0, run.stderr
    properties = DbProperties.read(conf / "db.properties")
    assert properties.algorithm == "PBEWITHHMACSHA512ANDAES_256"
    secret = inner(properties["db.cloud.encrypt.secret"])
    assert jasypt.decrypt(secret, "K1", "PBEWITHHMACSHA512ANDAES_256") == "K2"


@pytest.mark.parametrize("login", ["root:x@127.0.0.1:1", "admin2:x@127.0.0.1:1"])
def test_database_user_cannot_be_a_server_account(tmp_path: Path, login: str) -> None:
    # Checked before connecting (port 1 is closed): --recreate would drop the account.
    run = setup(tmp_path / "conf", login, "--deploy-as=admin2:", options="--recreate")
    assert_one_line_error(run, "must be an account of its own")
