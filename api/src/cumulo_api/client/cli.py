"""``cumulo api``: a Python 3 command line for the CloudStack API, in cloudmonkey's spirit.

    cumulo api set url http://localhost:8080/client/api
    cumulo api set apikey KEY ; cumulo api set secretkey      # prompts, never echoed
    cumulo api login -u admin -d /                             # or a session instead
    cumulo api sync                                            # cache listApis
    cumulo api listAccounts listall=true                       # any command, key=value
    cumulo api list accounts listall=true --output json        # cloudmonkey's form
    cumulo api deleteAccount id=...                            # async: waits for the job

An async command is followed to its end (cloudmonkey's ``asyncblock``) and its job
result is shown; an error is one line, ``Error <errorcode>: <errortext>``, and the exit
status is 1. ``cumulo api <TAB>`` completes command names from the ``sync`` cache, and
``key=`` parameter names after a command, once shell completion is enabled (bash:
``eval "$(_CUMULO_COMPLETE=bash_source cumulo)"``; zsh and fish likewise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import click
from click.shell_completion import CompletionItem

from cumulo_api.client import config as settings
from cumulo_api.client.cache import ApiCache
from cumulo_api.client.output import FORMATS, render
from cumulo_api.client.transport import ApiClient, ApiError, JobFailed

# Commands whose answer carries a top-level ``jobid`` without being a job start.
_NOT_JOB_STARTS = frozenset({"queryAsyncJobResult"})


class ApiFailure(click.ClickException):
    """An API error shown as ``Error <errorcode>: <errortext>`` on one line, exit 1."""

    def __init__(self, error: ApiError, hint: str = "") -> None:
        text = " ".join(error.errortext.split())  # one line, whatever the server sent
        where = f" (async job {error.jobid})" if isinstance(error, JobFailed) else ""
        code = f" {error.errorcode}" if error.errorcode else ""
        super().__init__(f"Error{code}: {text}{where}{hint}")

    def show(self, file: Any = None) -> None:
        """Print the message without click's ``Error:`` prefix (it carries its own)."""
        click.echo(self.format_message(), err=True)


@dataclass(frozen=True)
class ApiState:
    """The ``cumulo api`` options every sub-command sees."""

    path: Path
    output: str | None

    def load(self) -> settings.ClientConfig:
        """The stored configuration (a one-line error if it is unusable)."""
        try:
            return settings.load(self.path)
        except settings.ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    def save(self, config: settings.ClientConfig) -> None:
        """Store ``config`` (0600)."""
        try:
            settings.save(self.path, config)
        except settings.ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    def cache(self) -> ApiCache:
        """The ``listApis`` cache of this configuration (empty before ``sync``)."""
        return ApiCache.load(settings.cache_path(self.path))


def _state(ctx: click.Context) -> ApiState:
    state = ctx.find_object(ApiState)
    if state is None:  # completion contexts have no object: rebuild from the options
        root = ctx
        while root.parent is not None and root.command is not api:
            root = root.parent
        path = root.params.get("config_path") or settings.default_path()
        state = ApiState(Path(path), root.params.get("output"))
    return state


def _fail(error: ApiError, config: settings.ClientConfig) -> NoReturn:
    hint = ""
    if error.errorcode == 401 and config.session is not None:
        hint = "; the session may have ended: run 'cumulo api login' again"
    elif error.errorcode == 401 and not config.has_keys:
        hint = "; set apikey and secretkey, or run 'cumulo api login'"
    raise ApiFailure(error, hint)


# ---- calling a command ---------------------------------------------------------------


def _sync(state: ApiState, config: settings.ClientConfig) -> ApiCache:
    try:
        answer = ApiClient(config).call("listApis")
    except ApiError as error:
        _fail(error, config)
    cache = ApiCache.from_listapis(config.url, answer)
    try:
        cache.save(settings.cache_path(state.path))
    except OSError as exc:
        raise click.ClickException(f"cannot write the API cache: {exc}") from None
    return cache


def _parse_arguments(words: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Split ``words`` into leading subject words and ``key=value`` parameters."""
    subject: list[str] = []
    params: list[tuple[str, str]] = []
    for word in words:
        key, equals, value = word.partition("=")
        if equals and key:
            params.append((key, value))
        elif params:
            raise click.UsageError(f"expected key=value after the parameters, not {word!r}")
        else:
            subject.append(word)
    return subject, params


def _command_name(
    state: ApiState, config: settings.ClientConfig, name: str, subject: list[str]
) -> str:
    if not subject:
        return name
    words = [name, *subject]
    command = state.cache().resolve(words)
    if command is None:  # not synced yet, or the server gained commands since: ask it
        command = _sync(state, config).resolve(words)
    if command is None:
        raise click.UsageError(f"the server has no command {' '.join(words)!r}")
    return command


def _invoke(
    ctx: click.Context,
    words: Sequence[str],
    output: str | None,
    fields: str | None,
    post: bool,
    no_wait: bool,
) -> None:
    state = _state(ctx)
    config = state.load()
    assert ctx.info_name is not None
    subject, params = _parse_arguments(words)
    command = _command_name(state, config, ctx.info_name, subject)
    client = ApiClient(config)
    try:
        answer = client.call(command, params, post=post or None)
        info = state.cache().apis.get(command)
        is_job = "jobid" in answer and command not in _NOT_JOB_STARTS
        wait = config.asyncblock == "true" and not no_wait
        if is_job and wait and (info is None or info.isasync):
            finished = client.wait_for_job(str(answer["jobid"]))
            result = finished.get("jobresult")
            answer = result if isinstance(result, dict) else finished
    except ApiError as error:
        _fail(error, config)
    chosen = output or state.output or config.output
    selected = [field.strip() for field in (fields or "").split(",") if field.strip()]
    text = render(answer, chosen, fields=selected)
    if text:
        click.echo(text)


def _complete_arguments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Subjects after a verb (``list acc<TAB>``), else the command's ``key=`` names."""
    cache = _state(ctx).cache()
    name = ctx.info_name or ""
    given = list(ctx.params.get("words") or ())
    subject = [word for word in given if "=" not in word]
    if name not in cache.apis and not subject:
        return [CompletionItem(s) for s in cache.subjects(name) if s.startswith(incomplete)]
    command = cache.resolve([name, *subject]) if subject else name
    info = cache.apis.get(command or "")
    if info is None:
        return []
    used = {word.partition("=")[0] for word in given}
    return [
        CompletionItem(f"{p.name}=", help=p.description)
        for p in info.params
        if p.name not in used and p.name.startswith(incomplete)
    ]


def call_command(name: str) -> click.Command:
    """The click command that runs API command ``name`` (or a verb of ``verb subject``)."""

    @click.command(name=name, help=f"Run the API command {name} with key=value parameters.")
    @click.argument("words", nargs=-1, shell_complete=_complete_arguments)
    @click.option("-o", "--output", type=click.Choice(FORMATS), help="table or json")
    @click.option("--filter", "fields", metavar="FIELDS", help="Show only these fields (a,b,c).")
    @click.option("--post", is_flag=True, help="Send the parameters as a POST form body.")
    @click.option("--no-wait", is_flag=True, help="Show an async command's jobid at once.")
    @click.pass_context
    def run(
        ctx: click.Context,
        words: tuple[str, ...],
        output: str | None,
        fields: str | None,
        post: bool,
        no_wait: bool,
    ) -> None:
        _invoke(ctx, words, output, fields, post, no_wait)

    return run


# ---- the group -----------------------------------------------------------------------


class ApiGroup(click.Group):
    """Built-in sub-commands (set, get, login, logout, sync) plus any API command."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in sub-command, else the command that calls API command ``cmd_name``."""
        return super().get_command(ctx, cmd_name) or call_command(cmd_name)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Built-ins, cached command names and verbs (``cumulo api <TAB>``)."""
        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        cache = _state(ctx).cache()
        items = [
            CompletionItem(name, help=self.commands[name].get_short_help_str())
            for name in self.list_commands(ctx)
        ]
        items += [CompletionItem(info.name, help=info.description) for info in cache.apis.values()]
        items += [CompletionItem(verb) for verb in cache.verbs() if verb not in cache.apis]
        return [item for item in items if str(item.value).startswith(incomplete)]


@click.group(cls=ApiGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=settings.CONFIG_ENV,
    help="The settings file [default: ~/.cumulo/api.ini].",
)
@click.option("-o", "--output", type=click.Choice(FORMATS), help="table or json for this run.")
@click.pass_context
def api(ctx: click.Context, config_path: Path | None, output: str | None) -> None:
    """Call the CloudStack API: cumulo api listAccounts listall=true (or: list accounts).

    Set the endpoint and credentials first (cumulo api set url|apikey|secretkey, or
    cumulo api login), then cumulo api sync to cache the commands for tab completion.
    Enable completion in bash with: eval "$(_CUMULO_COMPLETE=bash_source cumulo)"
    (zsh: zsh_source, fish: fish_source).
    """
    ctx.obj = ApiState(config_path or settings.default_path(), output)


@api.command(name="set")
@click.argument("name", type=click.Choice(sorted(settings.SETTINGS)))
@click.argument("value", required=False)
@click.pass_context
def set_(ctx: click.Context, name: str, value: str | None) -> None:
    """Store setting NAME (a secret key is prompted for when VALUE is left out)."""
    state = _state(ctx)
    secret = name in settings.SECRET_SETTINGS
    if value is None:
        value = click.prompt(name, hide_input=secret)
    try:
        config = state.load().with_setting(name, value)
    except settings.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    state.save(config)
    click.echo(f"{name} = {config.describe(name)}")


@api.command(name="get")
@click.argument("name", type=click.Choice(sorted(settings.SETTINGS)), required=False)
@click.pass_context
def get(ctx: click.Context, name: str | None) -> None:
    """Show setting NAME, or every setting and the session (secrets only as set/unset)."""
    state = _state(ctx)
    config = state.load()
    if name is not None:
        click.echo(config.describe(name))
        return
    for setting in settings.SETTINGS:
        click.echo(f"{setting} = {config.describe(setting)}")
    if config.session is not None:
        click.echo(f"session = {config.session.username} in {config.session.domain}")
    click.echo(f"# stored in {state.path}")


@api.command()
@click.option("-u", "--username", required=True)
@click.option("-p", "--password", prompt=True, hide_input=True)
@click.option("-d", "--domain", default=None, help="Domain path: / is ROOT, /Sales/ a child.")
@click.option("--domain-id", default=None, help="The domain's id instead of its path.")
@click.pass_context
def login(
    ctx: click.Context, username: str, password: str, domain: str | None, domain_id: str | None
) -> None:
    """Open a session as USERNAME; later calls use it instead of the API keys."""
    state = _state(ctx)
    config = state.load()
    try:
        session, answer = ApiClient(replace(config, session=None)).login(
            username, password, domain=domain, domainid=domain_id
        )
    except ApiError as error:
        raise ApiFailure(error) from None
    state.save(replace(config, session=session))
    click.echo(
        f"Logged in as {answer.get('username', username)}"
        f" (account {answer.get('account', '?')}, domain {session.domain})"
    )


@api.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """End the stored session (on the server too) and forget it."""
    state = _state(ctx)
    config = state.load()
    if config.session is None:
        click.echo("No session to end.")
        return
    try:
        ApiClient(config).logout()
    except ApiError as error:  # already over on the server: forgetting it is the point
        click.echo(f"The server did not confirm the logout: {error.errortext}", err=True)
    state.save(replace(config, session=None))
    click.echo("Logged out.")


@api.command()
@click.pass_context
def sync(ctx: click.Context) -> None:
    """Cache the server's commands (listApis) for tab completion and verb forms."""
    state = _state(ctx)
    cache = _sync(state, state.load())
    click.echo(f"{len(cache.apis)} APIs cached in {settings.cache_path(state.path)}")
