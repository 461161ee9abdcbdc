"""What ``cumulo api`` remembers between runs: the server, the credentials, a session.

One INI file, ``~/.cumulo/api.ini`` (``CUMULO_API_CONFIG`` or ``--config`` name another),
in cloudmonkey's spirit: section ``[api]`` holds the settings ``cumulo api set`` changes
(url, apikey, secretkey, output, ...), section ``[session]`` the server-side session
that ``cumulo api login`` opened (the ``JSESSIONID`` cookie and the ``sessionkey``; the
password itself is never stored). The file holds secrets, so it is written atomically
with mode 0600 in a directory created 0700, and :meth:`ClientConfig.describe` never
shows the secret key or the session.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_ENV = "CUMULO_API_CONFIG"
DEFAULT_URL = "http://localhost:8080/client/api"

_SETTINGS = "api"
_SESSION = "session"


class ConfigError(Exception):
    """A setting has an unusable value or the file cannot be read or written."""


def default_path() -> Path:
    """``$CUMULO_API_CONFIG`` if set, else ``~/.cumulo/api.ini``."""
    configured = os.environ.get(CONFIG_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cumulo" / "api.ini"


def _positive_int(value: str) -> str:
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"expected a positive whole number, not {value!r}")
    return value


def _positive_float(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number <= 0:
        raise ConfigError(f"expected a positive number of seconds, not {value!r}")
    return value


def _boolean(value: str) -> str:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ConfigError(f"expected true or false, not {value!r}")
    return lowered


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value.lower() not in choices:
            raise ConfigError(f"expected one of {', '.join(choices)}, not {value!r}")
        return value.lower()

    return check


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"expected an http:// or https:// URL, not {value!r}")
    return value


def _any(value: str) -> str:
    return value


# name -> validator of the settings `cumulo api set` accepts, with what they mean.
SETTINGS: dict[str, tuple[Callable[[str], str], str]] = {
    "url": (_url, "the API endpoint, e.g. http://localhost:8080/client/api"),
    "apikey": (_any, "the API key of the user to sign requests as"),
    "secretkey": (_any, "that user's secret key (stored 0600, never shown)"),
    "output": (_one_of("table", "json"), "table or json"),
    "method": (_one_of("get", "post"), "HTTP method of API calls: get or post"),
    "signatureversion": (_one_of("2", "3"), "3 adds expires to signed requests (4.1: 3)"),
    "expires": (_positive_int, "seconds a version-3 signature stays valid"),
    "asyncblock": (_boolean, "wait for async jobs to finish: true or false"),
    "timeout": (_positive_int, "seconds to wait for an async job"),
    "pollinterval": (_positive_float, "seconds between two queryAsyncJobResult polls"),
}
SECRET_SETTINGS = frozenset({"secretkey"})


@dataclass(frozen=True)
class Session:
    """A logged-in session: the cookie and the key every later call must send."""

    jsessionid: str = field(repr=False)
    sessionkey: str = field(repr=False)
    username: str = ""
    domain: str = "/"


@dataclass(frozen=True)
class ClientConfig:
    """The settings of one ``cumulo api`` configuration file."""

    url: str = DEFAULT_URL
    apikey: str = ""
    secretkey: str = field(default="", repr=False)
    output: str = "table"
    method: str = "get"
    signatureversion: str = "3"
    expires: str = "600"
    asyncblock: str = "true"
    timeout: str = "3600"
    pollinterval: str = "1"
    session: Session | None = None

    @property
    def has_keys(self) -> bool:
        """Both keys are set, so requests can be signed."""
        return bool(self.apikey and self.secretkey)

    def with_setting(self, name: str, value: str) -> ClientConfig:
        """A copy with setting ``name`` changed to ``value`` (validated).

        :raises ConfigError: unknown setting or unusable value (the message names the
            setting but never repeats a secret value).
        """
        if name not in SETTINGS:
            raise ConfigError(f"unknown setting {name!r}; settings: {', '.join(SETTINGS)}")
        validate, _ = SETTINGS[name]
        try:
            checked = validate(value.strip())
        except ConfigError as exc:
            if name in SECRET_SETTINGS:
                raise ConfigError(f"{name}: unusable value") from None
            raise ConfigError(f"{name}: {exc}") from None
        changes: dict[str, Any] = {name: checked}
        return replace(self, **changes)

    def describe(self, name: str) -> str:
        """The value of setting ``name`` as it may be shown: secrets only as set/unset."""
        value = str(getattr(self, name))
        if name in SECRET_SETTINGS:
            return "(set)" if value else "(not set)"
        return value


def load(path: Path) -> ClientConfig:
    """The configuration stored at ``path``; defaults when the file does not exist.

    :raises ConfigError: the file exists but cannot be read or parsed, or holds an
        unusable value.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except FileNotFoundError:
        return ClientConfig()
    except (OSError, configparser.Error) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    config = ClientConfig()
    if parser.has_section(_SETTINGS):
        for name, value in parser.items(_SETTINGS):
            if name in SETTINGS:
                try:
                    config = config.with_setting(name, value)
                except ConfigError as exc:
                    raise ConfigError(f"{path}: {exc}") from None
    if parser.has_section(_SESSION):
        section = parser[_SESSION]
        if section.get("jsessionid") and section.get("sessionkey"):
            config = replace(
                config,
                session=Session(
                    jsessionid=section["jsessionid"],
                    sessionkey=section["sessionkey"],
                    username=section.get("username", ""),
                    domain=section.get("domain", "/"),
                ),
            )
    return config


def save(path: Path, config: ClientConfig) -> None:
    """Write ``config`` to ``path`` atomically, mode 0600 (its directory 0700 if new).

    :raises ConfigError: the file cannot be written; the previous one is untouched.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser[_SETTINGS] = {
        item.name: str(getattr(config, item.name))
        for item in fields(config)
        if item.name in SETTINGS
    }
    if config.session is not None:
        parser[_SESSION] = {
            "jsessionid": config.session.jsessionid,
            "sessionkey": config.session.sessionkey,
            "username": config.session.username,
            "domain": config.session.domain,
        }
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600, so no other user can read it even briefly.
        descriptor, temporary = tempfile.mkstemp(prefix=".api-", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                parser.write(stream)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def cache_path(config_path: Path) -> Path:
    """Where ``cumulo api sync`` keeps the ``listApis`` cache for this configuration."""
    return config_path.with_name(config_path.stem + "-cache.json")
