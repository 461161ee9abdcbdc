"""``cumulo serve``: the API under gunicorn, the job worker beside it, one command.

Process model (one management server)::

    cumulo serve                 supervisor: obtains the management-server key once,
    │                            starts, watches and stops the children below
    ├── gunicorn (API)           arbiter + --workers HTTP workers x --threads threads,
    │                            bound to --bind (default 0.0.0.0:8080)
    ├── gunicorn (integration)   only when integration.api.port is set: 127.0.0.1 ONLY,
    │                            every request runs as the system account, unsigned
    └── job worker               python -m cumulo_api.worker: --job-threads runners,
                                 mshost heartbeat, takeover and purge under leases

Why a supervisor and not a hook in gunicorn's arbiter: gunicorn reaps every child of
its arbiter as if it were an HTTP worker, and HTTP workers come and go; the job worker
must exist exactly once per server and be restarted if it dies. So the HTTP workers
never run the scheduler, and the job worker is restarted under the same ``msid``, which
fails what its previous run left in progress at once (instead of after the heartbeat
threshold). The key reaches each child on its standard input, never in the process
list or environment, so ``web`` key delivery works with a single ``send-secret-key``.
SIGTERM or SIGINT stops every child gracefully (running jobs get
:data:`STOP_TIMEOUT` seconds), then the supervisor exits 0; if the API listener dies,
everything stops and the exit status says so.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import click
import falcon
import pluggy
from sqlalchemy.exc import SQLAlchemyError

from cumulo.auth.identity import SYSTEM_USER_ID, principal_by_user_id
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InternalError, InvalidParameterValue, UnsupportedAction
from cumulo.secret_key import SecretKeyError, obtain_management_key
from cumulo.settings import SettingsError, conf_dir, load_db_properties
from cumulo_api import errors
from cumulo_api.app import create_app
from cumulo_api.dispatch import UNKNOWN_COMMAND, ApiResource, install_event_publishing
from cumulo_api.params import first_values
from cumulo_api.registry import CommandRegistry
from cumulo_api.render import ERROR_ENVELOPE, Format

STOP_TIMEOUT = 40.0
"""Seconds the children get to stop after SIGTERM before they are killed."""
RESTART_BACKOFF = (1.0, 30.0)
"""First and longest pause before restarting a job worker that died."""
INTEGRATION_PORT_KEY = "integration.api.port"


# ---- the integration listener (127.0.0.1 only, no authentication) -----------------------


class IntegrationResource(ApiResource):
    """``/client/api`` of the integration port (CS41: ``ApiServer.handle``): only the
    query string is read, nothing is signed, and every request runs as the ``system``
    account (root admin) without a role check."""

    def dispatch(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer one request as the system account."""
        received = first_values(parse_qsl(req.query_string, keep_blank_values=True))
        fmt: Format = "json" if received.get("response", "").lower() == "json" else "xml"
        req.context.fmt = fmt
        req.context.envelope = ERROR_ENVELOPE
        name = received.get("command")
        if name is None:
            raise InvalidParameterValue("invalid request, no command sent")
        entry = self.registry.entry(name)  # login/logout are not commands here
        if entry is None:
            raise UnsupportedAction(UNKNOWN_COMMAND)
        req.context.command = name
        req.context.envelope = entry.command.envelope
        with self.runtime.sessions() as db:
            system = principal_by_user_id(db, SYSTEM_USER_ID)
            if system is None:
                raise InternalError("the system user is missing; the cloud was not seeded")
            ctx = system.context()
            req.context.ctx = ctx
            status, body, content_type = self._run(db, entry, ctx, received, fmt, req.method)
            db.commit()
        resp.status, resp.data, resp.content_type = status, body, content_type


def integration_app(runtime: Runtime) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI application of the integration port. Dangerous by design: bind it to
    127.0.0.1 only (``cumulo serve`` does)."""
    install_event_publishing(runtime)
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    app.add_route("/client/api", IntegrationResource(runtime, CommandRegistry.build(runtime.pm)))
    return app


# ---- a gunicorn child ---------------------------------------------------------------------


def _gunicorn_main(argv: list[str]) -> None:
    """``python -m cumulo_api.serve api|integration --bind B ...``: one gunicorn arbiter
    serving the application built here once (before its workers fork)."""
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    role, options = argv[0], dict(zip(argv[1::2], argv[2::2], strict=True))
    key = sys.stdin.readline().rstrip("\r\n")
    runtime = Runtime.from_conf(Path(options["--conf"]), management_key=key)
    app = integration_app(runtime) if role == "integration" else create_app(runtime)
    threads = int(options["--threads"])
    settings: dict[str, Any] = {
        "bind": options["--bind"],
        "workers": int(options["--workers"]),
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "proc_name": f"cumulo-{role}",
        "graceful_timeout": int(STOP_TIMEOUT) - 10,
        "errorlog": "-",
        # A connection pool inherited over fork() must not be shared: each HTTP worker
        # opens its own connections.
        "post_fork": lambda _arbiter, _worker: runtime.engine.dispose(close=False),
        # gunicorn 25+ opens a control socket at one path per user; several arbiters
        # (API, integration, other servers in tests) must not fight over it.
        "control_socket_disable": True,
    }

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in settings.items():
                if name in self.cfg.settings:  # older gunicorns lack newer settings
                    self.cfg.set(name, value)

        def load(self) -> falcon.App[falcon.Request, falcon.Response]:
            return app

    Server().run()


# ---- the supervisor -------------------------------------------------------------------------


@dataclass
class Child:
    """One supervised process: its command line and whether it is restarted."""

    name: str
    argv: list[str]
    restart: bool
    process: subprocess.Popen[bytes] | None = None
    backoff: float = RESTART_BACKOFF[0]
    started: float = field(default=0.0)


class Supervisor:
    """Starts the children, restarts the restartable ones, stops all on a signal."""

    def __init__(self, key: str, children: list[Child]) -> None:
        self._key = key
        self.children = children
        self._stopping = False

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, stdin=subprocess.PIPE)
        assert child.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            child.process.stdin.write(self._key.encode("utf-8") + b"\n")
        child.process.stdin.close()
        child.started = time.monotonic()

    def run(self) -> int:
        """Run until a signal (exit 0) or the death of a child that is not restarted
        (that child's exit status, at least 1)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        for child in self.children:
            self._start(child)
        status = 0
        while not self._stopping:
            time.sleep(0.2)
            for child in self.children:
                assert child.process is not None
                code = child.process.poll()
                if code is None or self._stopping:
                    continue
                if not child.restart:
                    click.echo(f"cumulo serve: {child.name} exited with {code}; stopping", err=True)
                    status = code or 1
                    self._stopping = True
                    break
                self._restart(child, code)
        self._stop_all()
        return status

    def _restart(self, child: Child, code: int) -> None:
        if time.monotonic() - child.started > 60:
            child.backoff = RESTART_BACKOFF[0]  # it had been running well: start afresh
        click.echo(
            f"cumulo serve: {child.name} exited with {code}; restarting in {child.backoff:g} s",
            err=True,
        )
        self._pause(child.backoff)
        child.backoff = min(child.backoff * 2, RESTART_BACKOFF[1])
        if not self._stopping:
            self._start(child)

    def _pause(self, seconds: float) -> None:
        # In slices, so that a stop signal during a long back-off is acted on at once.
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(0.1)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._stopping = True

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@click.command()
@click.option("--bind", default="0.0.0.0:8080", show_default=True, help="Address of the API.")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, help="Threads per worker process.")
@click.option("--job-threads", default=4, show_default=True, help="Jobs run at the same time.")
@click.option(
    "--embedded",
    is_flag=True,
    help="Create (or migrate) the embedded SQLite deployment first, as 'cumulo embedded'.",
)
@click.pass_context
def serve(
    ctx: click.Context, bind: str, workers: int, threads: int, job_threads: int, embedded: bool
) -> None:
    """Serve the CloudStack API and run the async jobs (stops on SIGTERM/SIGINT)."""
    pm = ctx.find_object(pluggy.PluginManager)
    deployment = None
    if embedded:
        from cumulo.embedded import open_embedded, use_simulator_state
        from cumulo.plugins import get_plugin_manager

        pm = pm or get_plugin_manager()
        deployment = open_embedded(pm)
        # Set before any child starts: they inherit it, so the API workers, the job
        # worker and the demo below share one simulation beside the database.
        use_simulator_state(deployment.data_dir)
    conf = conf_dir()
    key, msid, port = _prepare(conf, pm)
    if deployment is not None and deployment.created and pm is not None:
        from cumulo.embedded import add_demo_zone

        # A new embedded cloud comes with the demo zone (the README's run command);
        # later runs reuse whatever the operator made of it.
        add_demo_zone(deployment, pm, management_key=key, msid=msid)
    base = [sys.executable, "-m", "cumulo_api.serve"]
    listener = ["--conf", str(conf), "--threads", str(threads)]
    children = [
        Child("the API listener", [*base, "api", "--bind", bind, "--workers", str(workers),
                                   *listener], restart=False),
        Child("the job worker", [sys.executable, "-m", "cumulo_api.worker", "--conf", str(conf),
                                 "--threads", str(job_threads), "--msid", str(msid)],
              restart=True),
    ]  # fmt: skip
    if port:
        click.echo(
            f"WARNING: the unauthenticated integration API listens on 127.0.0.1:{port}"
            " (integration.api.port); every request there runs as the system account",
            err=True,
        )
        children.insert(1, Child("the integration listener", [*base, "integration", "--bind",
                                 f"127.0.0.1:{port}", "--workers", "1", *listener],
                                 restart=False))  # fmt: skip
    click.echo(f"cumulo serve: API on http://{bind}/client/api (management server {msid})")
    ctx.exit(Supervisor(key, children).run())


def _prepare(conf: Path, pm: pluggy.PluginManager | None) -> tuple[str, int, int | None]:
    """The management key, this server's msid and the integration port; proves the
    configuration and the database work before any child starts."""
    try:
        encryption = load_db_properties(conf).encryption_type
        key = "" if encryption == "none" else obtain_management_key(encryption, conf)
        runtime = Runtime.from_conf(conf, management_key=key, pm=pm)
    except (SettingsError, SecretKeyError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with runtime.sessions() as session:
            port = runtime.config_store(session).integer(INTEGRATION_PORT_KEY)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the cloud database: {exc}") from None
    finally:
        runtime.close()
    return key, runtime.msid, port


if __name__ == "__main__":
    _gunicorn_main(sys.argv[1:])
