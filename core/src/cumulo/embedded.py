"""``cumulo embedded``: the management server on one machine, SQLite and all.

On first use it creates the embedded deployment exactly as ``cumulo setup-databases
--embedded`` with the defaults would (``cloud.db`` and ``cloud_usage.db`` in
``<conf_dir>/../data``, keys ``password``, encryption type ``file``); later it reuses it
and migrates it to this version's schema, as ``cumulo db upgrade`` does. Then it shows
where everything is and which plugins and drivers are loaded.

``cumulo serve --embedded`` (the README's run command, ``./dev run``) does the same
first step through :func:`open_embedded`, keeps the simulator's state beside the
database (:func:`use_simulator_state`), adds the demo zone when it has just created the
deployment (:func:`add_demo_zone`), and then serves the API and runs the jobs. This
stays a thin orchestration on purpose: a sequence of calls into the modules that own
each step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click
import pluggy
from sqlalchemy import URL

from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.secret_key import DEFAULT_WEB_PORT, SecretKeyError, obtain_management_key
from cumulo.settings import DbProperties, SettingsError, conf_dir, load_db_properties
from cumulo.setup import flows, notices
from cumulo.setup.arguments import local_ip
from cumulo.setup.errors import SetupError
from cumulo.setup.publish import properties_path
from cumulo.setup.sqlite import EmbeddedFiles, default_data_dir, has_tables

SIMULATOR_STATE_ENV = "CUMULO_SIMULATOR_STATE"
"""The variable naming the simulator's shared state file (plugins/simulator/README.md);
read by the simulator plugin in every process, set here so it follows the data dir."""
SIMULATOR_STATE_FILE = "simulator.sqlite"


@dataclass(frozen=True)
class EmbeddedDeployment:
    """Where the embedded deployment lives, and whether this run created it."""

    conf_dir: Path
    properties_path: Path
    cloud: str
    usage: str
    created: bool

    @property
    def data_dir(self) -> Path:
        """The directory of the cloud database: where the deployment's files live."""
        return Path(self.cloud).absolute().parent


DEFAULT_KEYS = flows.Keys("file", notices.DEFAULT_KEY, notices.DEFAULT_KEY, DEFAULT_ALGORITHM)
"""What a first ``cumulo embedded`` uses: CloudStack's defaults (and warns about them)."""


def ensure_embedded(
    conf: Path, data_dir: Path | None, pm: pluggy.PluginManager
) -> EmbeddedDeployment:
    """Create the embedded deployment under ``conf`` if there is none, else migrate it.

    :param data_dir: where new SQLite files go (default ``<conf>/../data``); an
        existing deployment keeps the files its ``db.properties`` names.
    :raises SetupError: ``db.properties`` names a non-SQLite database, its key cannot
        be obtained, or database files exist without a ``db.properties``.
    """
    path = properties_path(conf)
    if path.exists():
        return _reuse(conf, path, pm)
    files = EmbeddedFiles((data_dir or default_data_dir(conf)).absolute())
    if has_tables(files.cloud):
        # The keys that encrypted its secrets are unknown: refuse rather than guess.
        raise SetupError(
            f"{files.cloud} exists but {path} does not; restore db.properties or start"
            " afresh with 'cumulo setup-databases --embedded --recreate'"
        )
    node = flows.Node(local_ip(), 1)
    outcome = flows.deploy_embedded(files, DEFAULT_KEYS, node, conf, pm)
    return EmbeddedDeployment(conf, outcome.properties_path, outcome.cloud, outcome.usage, True)


def _reuse(conf: Path, path: Path, pm: pluggy.PluginManager) -> EmbeddedDeployment:
    try:
        properties = load_db_properties(conf)
        if properties.driver("cloud") != "sqlite":
            raise SetupError(
                f"{path} configures a {properties.driver('cloud')} database; 'cumulo embedded'"
                " runs only the embedded SQLite deployment; point CUMULO_CONF_DIR"
                " elsewhere to create one"
            )
        key = _management_key(properties, conf)
        url, usage = properties.cloud_url(key), properties.usage_url(key)
    except (SettingsError, SecretKeyError) as exc:
        raise SetupError(str(exc)) from None
    flows.migrate_database(url, pm, location=str(url.database))
    return EmbeddedDeployment(conf, path, str(url.database), str(usage.database), False)


def _management_key(properties: DbProperties, conf: Path) -> str:
    encryption = properties.encryption_type
    if encryption == "none":
        return ""
    if encryption == "web":
        click.echo(
            f"waiting for the management server key on 127.0.0.1:{DEFAULT_WEB_PORT};"
            " send it with 'cumulo send-secret-key'",
            err=True,
        )
    return obtain_management_key(encryption, conf)


def open_embedded(pm: pluggy.PluginManager, data_dir: Path | None = None) -> EmbeddedDeployment:
    """Create (warning about the default keys) or migrate the embedded deployment of
    ``CUMULO_CONF_DIR`` and say where it lives: the first step of ``cumulo embedded``
    and ``cumulo serve --embedded``.

    :raises click.ClickException: the deployment cannot be created or reused (one line).
    """
    conf = conf_dir()
    try:
        if not properties_path(conf).exists():
            for warning in notices.default_key_warnings(DEFAULT_KEYS):
                click.echo(warning, err=True)
        deployment = ensure_embedded(conf, data_dir, pm)
    except SetupError as exc:
        raise click.ClickException(str(exc)) from None
    if deployment.created:
        click.echo("Successfully initialized the database.")
    else:
        click.echo("Using the existing embedded deployment (schema up to date).")
    click.echo(f"  configuration:   {deployment.properties_path}")
    click.echo(f"  cloud database:  {deployment.cloud}")
    click.echo(f"  usage database:  {deployment.usage}")
    if deployment.created:
        click.echo(notices.admin_password_warning(), err=True)
    return deployment


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where a new deployment's SQLite files go [default: <conf_dir>/../data].",
)
@click.pass_context
def embedded(ctx: click.Context, data_dir: Path | None) -> None:
    """Run cumulo embedded: create the SQLite deployment on first use, migrate it, and
    show the configuration and the loaded plugins."""
    from cumulo.plugins import plugin_manager_for
    from cumulo.plugins_cli import collect_rows, render_table

    pm = plugin_manager_for(ctx)
    open_embedded(pm, data_dir)
    click.echo("\nPlugins and drivers:")
    click.echo(render_table(collect_rows(pm)))


def data_dir_for(url: URL, conf: Path) -> Path:
    """The data directory of the deployment whose cloud database is ``url``: the SQLite
    file's directory, else (a database server) ``<conf>/../data``."""
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).absolute().parent
    return default_data_dir(conf)


def use_simulator_state(data_dir: Path) -> Path:
    """Make the simulator keep its shared state in ``data_dir`` for this process and the
    children it starts, unless ``CUMULO_SIMULATOR_STATE`` already names a file.

    Why: the simulator's own default is ``<conf>/../data``, which is not the data
    directory of a deployment created with ``--data-dir`` or moved since; the API
    workers, the job worker and the demo must all read the same simulated hosts.

    :return: the state file in effect.
    """
    configured = os.environ.get(SIMULATOR_STATE_ENV, "").strip()
    if configured:
        return Path(configured)
    state = data_dir / SIMULATOR_STATE_FILE
    os.environ[SIMULATOR_STATE_ENV] = str(state)
    return state


def add_demo_zone(
    deployment: EmbeddedDeployment,
    pm: pluggy.PluginManager,
    *,
    management_key: str,
    msid: int | None = None,
) -> None:
    """Create the demo zone (:mod:`cumulo.demo`) in ``deployment``, secondary storage
    in its data directory, and say what was created.

    :param management_key: the key of the deployment's ``db.properties``.
    :param msid: the management server the demo hosts are connected to.
    :raises click.ClickException: a step of the demo failed (one line).
    """
    from cumulo.demo import DemoError, ensure_demo_zones, report
    from cumulo.runtime import Runtime

    runtime = Runtime.from_conf(deployment.conf_dir, management_key=management_key, pm=pm)
    try:
        report(ensure_demo_zones(runtime, deployment.data_dir, msid=msid))
    except DemoError as exc:
        raise click.ClickException(f"{exc} (fix it, then run 'cumulo demo')") from None
    finally:
        runtime.close()
