"""``cumulo setup-databases`` (also installed as ``cloudstack-setup-databases``).

The arguments are CloudStack's::

    cumulo setup-databases cloud:<dbpassword>@<db-host>[:port] --deploy-as=root:<password> \\
        -e file|web -m <management_server_key> -k <database_key> \\
        -i <management_server_ip> -r <region_id>

- with ``--deploy-as``: create the databases and the user, migrate, seed, configure;
- without it: configure this host as an additional management server of an existing
  database, after checking the login, the schema and the database key;
- ``--embedded [--data-dir DIR]``: the SQLite form (``cloud.db`` and ``cloud_usage.db``
  in DIR, default ``<conf_dir>/../data``); a database login and ``--deploy-as`` are
  accepted and ignored with a warning (REQ-INST-05).

``db.properties`` and the key file go to the configuration directory
(``$CUMULO_CONF_DIR``, default ``/etc/cloud/management``). An existing deployment is
refused unless ``--recreate`` is given; any failure is one line and exit status 1,
with nothing half-written.
"""

from __future__ import annotations

from pathlib import Path

import click
import pluggy

from cumulo.crypto import ALGORITHMS, DEFAULT_ALGORITHM
from cumulo.settings import conf_dir
from cumulo.setup import flows, notices
from cumulo.setup.arguments import (
    ArgumentError,
    local_ip,
    parse_credentials,
    parse_target,
    validate_ip,
)
from cumulo.setup.errors import SetupError
from cumulo.setup.host_checks import host_warnings
from cumulo.setup.sqlite import EmbeddedFiles, default_data_dir


@click.command("setup-databases")
@click.argument("target", required=False, metavar="USER:PASSWORD@HOST[:PORT]")
@click.option(
    "--deploy-as",
    metavar="USER:PASSWORD",
    help="Privileged MySQL account that creates the databases and the user (first "
    "management server only). The password may be empty: --deploy-as=root:",
)
@click.option(
    "-e",
    "--encrypt-type",
    "encryption_type",
    type=click.Choice(flows.ENCRYPTION_TYPES),
    default="file",
    show_default=True,
    help="How the server obtains the management server key: from the key file beside "
    "db.properties, or sent over 127.0.0.1 at every start (cumulo send-secret-key).",
)
@click.option(
    "-m",
    "--managementserver-secretkey",
    "management_key",
    default=notices.DEFAULT_KEY,
    help="Key that encrypts the secrets of db.properties (default: 'password'; change it).",
)
@click.option(
    "-k",
    "--database-secretkey",
    "database_key",
    default=notices.DEFAULT_KEY,
    help="Key that encrypts the secrets stored in the database (default: 'password'; "
    "change it). Additional management servers must give the same key.",
)
@click.option(
    "-i",
    "--mshost",
    "management_ip",
    metavar="IP",
    help="IP address of this management server in the cluster (default: this host's).",
)
@click.option(
    "-r",
    "--regionid",
    "region_id",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Id of the region this installation belongs to.",
)
@click.option(
    "-a",
    "--algorithm",
    type=click.Choice(ALGORITHMS, case_sensitive=False),
    default=DEFAULT_ALGORITHM,
    show_default=True,
    help="jasypt PBE algorithm of the encrypted values (CloudStack uses the default).",
)
@click.option(
    "--recreate",
    is_flag=True,
    help="Drop an existing deployment (databases and database user, or the SQLite "
    "files) and create it again. Everything in it is lost.",
)
@click.option(
    "--embedded",
    is_flag=True,
    help="Use SQLite files instead of a MySQL server (single management server only).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --embedded: directory of cloud.db and cloud_usage.db [default: <conf_dir>/../data].",
)
@click.option("--database-name", default="cloud", show_default=True, help="MySQL database.")
@click.option(
    "--usage-database-name",
    default="cloud_usage",
    show_default=True,
    help="MySQL database of usage records.",
)
@click.pass_context
def setup_databases(
    ctx: click.Context,
    target: str | None,
    deploy_as: str | None,
    encryption_type: str,
    management_key: str,
    database_key: str,
    management_ip: str | None,
    region_id: int,
    algorithm: str,
    recreate: bool,
    embedded: bool,
    data_dir: Path | None,
    database_name: str,
    usage_database_name: str,
) -> None:
    """Create the cumulo databases and write db.properties, as CloudStack's
    cloudstack-setup-databases does."""
    keys = flows.Keys(encryption_type, management_key, database_key, algorithm)
    conf = conf_dir()
    pm = _plugin_manager(ctx)
    try:
        node = flows.Node(validate_ip(management_ip) if management_ip else local_ip(), region_id)
        if embedded:
            _warn_ignored_for_embedded(ctx, target, deploy_as)
            files = EmbeddedFiles((data_dir or default_data_dir(conf)).absolute())
            _warn_defaults(keys)
            outcome = flows.deploy_embedded(files, keys, node, conf, pm, recreate=recreate)
        else:
            if data_dir is not None:
                raise click.UsageError("--data-dir applies only with --embedded")
            if target is None:
                raise click.UsageError(
                    "give the database as USER:PASSWORD@HOST[:PORT], or use --embedded"
                )
            parsed = parse_target(target)
            names = flows.DatabaseNames(database_name, usage_database_name)
            _warn_defaults(keys)
            if deploy_as is None:
                if recreate:
                    raise click.UsageError(
                        "--recreate needs --deploy-as: without it the database is never changed"
                    )
                outcome = flows.configure_additional_server(parsed, keys, node, names, conf, pm)
            else:
                deployer = parse_credentials(deploy_as, what="--deploy-as")
                outcome = flows.deploy_mysql(
                    parsed, deployer, keys, node, names, conf, pm, recreate=recreate
                )
    except (SetupError, ArgumentError) as exc:
        raise click.ClickException(str(exc)) from None
    _report(outcome, keys)


def _plugin_manager(ctx: click.Context) -> pluggy.PluginManager:
    from cumulo.plugins import plugin_manager_for

    return plugin_manager_for(ctx)


def _warn_ignored_for_embedded(
    ctx: click.Context, target: str | None, deploy_as: str | None
) -> None:
    # REQ-INST-05: SQLite has no server and no users; say so instead of failing.
    if target is not None:
        click.echo(
            "warning: --embedded uses SQLite files; the database login and host given are ignored",
            err=True,
        )
    if deploy_as is not None:
        click.echo("warning: --embedded uses SQLite files; --deploy-as is ignored", err=True)
    for option in ("database_name", "usage_database_name"):
        source = ctx.get_parameter_source(option)
        if source is click.core.ParameterSource.COMMANDLINE:
            flag = "--" + option.replace("_", "-")
            click.echo(
                f"warning: --embedded uses cloud.db and cloud_usage.db; {flag} is ignored", err=True
            )


def _warn_defaults(keys: flows.Keys) -> None:
    for warning in [*host_warnings(), *notices.default_key_warnings(keys)]:
        click.echo(warning, err=True)


def _report(outcome: flows.Outcome, keys: flows.Keys) -> None:
    if outcome.seeded:
        click.echo("Successfully initialized the database.")
    else:
        click.echo("Successfully configured this management server for the existing database.")
    for line in notices.outcome_lines(outcome, keys):
        click.echo(line)
    if outcome.seeded:
        click.echo(notices.admin_password_warning(), err=True)
