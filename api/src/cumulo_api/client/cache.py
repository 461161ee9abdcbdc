"""The ``listApis`` cache: which commands the server offers, their parameters, which
are async. ``cumulo api sync`` writes it; tab completion, the cloudmonkey-style
``verb subject`` form (``list accounts``) and async detection read it.

Like cloudmonkey's ``cachemaker``, a command name splits into a verb and a subject at
its first upper-case letter: ``listAccounts`` is ``list`` + ``accounts``. Command names
are case-sensitive in 4.1, so ``list virtualmachines`` can only be turned back into
``listVirtualMachines`` through the cache.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ApiParam:
    """One parameter of a cached command."""

    name: str
    required: bool = False
    type: str = "string"
    description: str = ""


@dataclass(frozen=True)
class ApiInfo:
    """One command as ``listApis`` described it."""

    name: str
    isasync: bool = False
    description: str = ""
    params: tuple[ApiParam, ...] = ()


def split_name(name: str) -> tuple[str, str]:
    """``listAccounts`` → ``("list", "accounts")``; a name without capitals has no subject."""
    for index, character in enumerate(name):
        if character.isupper():
            return name[:index], name[index:].lower()
    return name, ""


@dataclass(frozen=True)
class ApiCache:
    """The commands of one server, by name."""

    url: str = ""
    apis: Mapping[str, ApiInfo] = field(default_factory=dict)

    @classmethod
    def from_listapis(cls, url: str, answer: Mapping[str, Any]) -> ApiCache:
        """Build the cache from a ``listApis`` answer (without its envelope)."""
        apis: dict[str, ApiInfo] = {}
        for api in answer.get("api") or ():
            params = tuple(
                ApiParam(
                    name=str(param["name"]),
                    required=param.get("required") is True,
                    type=str(param.get("type", "string")),
                    description=str(param.get("description", "")),
                )
                for param in api.get("params") or ()
            )
            apis[api["name"]] = ApiInfo(
                name=str(api["name"]),
                isasync=api.get("isasync") is True,
                description=str(api.get("description", "")),
                params=tuple(sorted(params, key=lambda param: param.name)),
            )
        return cls(url, dict(sorted(apis.items())))

    def resolve(self, words: Iterable[str]) -> str | None:
        """The command a ``verb subject`` pair names (``("list", "accounts")``), or
        ``None`` when the cache has no such command."""
        wanted = tuple(word.lower() for word in words)
        for name in self.apis:
            if split_name(name) == wanted:
                return name
        return None

    def verbs(self) -> list[str]:
        """Every verb, sorted (``create``, ``list``, ...)."""
        return sorted({split_name(name)[0] for name in self.apis})

    def subjects(self, verb: str) -> list[str]:
        """The subjects that follow ``verb``, sorted."""
        return sorted(
            subject for name in self.apis for v, subject in [split_name(name)] if v == verb
        )

    # ---- storage -----------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the cache to ``path`` atomically (it holds no secret)."""
        document = {
            "url": self.url,
            "apis": [
                {
                    "name": info.name,
                    "isasync": info.isasync,
                    "description": info.description,
                    "params": [vars(param) for param in info.params],
                }
                for info in self.apis.values()
            ],
        }
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".cache-", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump(document, stream, indent=1)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise

    @classmethod
    def load(cls, path: Path) -> ApiCache:
        """The cache stored at ``path``; an empty one if it is missing or unreadable
        (completion must never fail because of the cache)."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            apis = {
                entry["name"]: ApiInfo(
                    name=entry["name"],
                    isasync=bool(entry.get("isasync")),
                    description=entry.get("description", ""),
                    params=tuple(ApiParam(**param) for param in entry.get("params", ())),
                )
                for entry in document.get("apis", ())
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls()
        return cls(str(document.get("url", "")), apis)
