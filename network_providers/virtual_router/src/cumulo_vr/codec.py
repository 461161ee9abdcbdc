"""The sdk's network value objects to canonical JSON and back.

The router keeps the desired state it was last given (one JSON document per kind of
rule) so that a call carrying one kind can render the whole configuration, which mixes
kinds (the iptables ruleset holds firewall, NAT and forwarding together). The encoding
is canonical — sorted keys, no whitespace variation — so the same state is always the
same bytes, and a document that did not change is not rewritten.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


@cache
def _field_names(cls: Any) -> tuple[str, ...] | None:
    """The fields of a dataclass type, ``None`` for any other type (cached: a network's
    state holds thousands of objects of a handful of types)."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return None


def _fields_of(value: Any) -> Any:
    # The json encoder's hook for what it cannot encode itself: a frozen dataclass keeps
    # exactly its fields in __dict__, so the C encoder does the rest (tuples as lists).
    if _field_names(value.__class__) is not None:
        return value.__dict__
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: object) -> bytes:
    """Canonical JSON bytes of ``value`` (a dataclass, a tuple of them, or ``None``)."""
    text = json.dumps(
        value, default=_fields_of, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return text.encode() + b"\n"


def _identity(data: Any) -> Any:
    return data


@cache
def _decoder(kind: Any) -> Callable[[Any], Any]:
    """A function rebuilding a value of type ``kind`` (a dataclass, ``tuple[X, ...]``,
    ``X | None``, ``Mapping[str, str]`` or a scalar) from its decoded JSON; built once
    per type, so decoding thousands of rules walks no type hints."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in typing.get_args(kind) if a is not type(None)))
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _decoder(typing.get_args(kind)[0])
        if item is _identity:
            return tuple
        return lambda data: tuple([item(value) for value in data])
    if origin in (Mapping, dict) or kind is Mapping:
        return lambda data: {str(k): str(v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        fields = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(kind)}

        def build(data: dict[str, Any]) -> Any:
            # Unknown keys are ignored, so a router written by a newer cumulo can still be
            # read (the next full push rewrites the document anyway).
            return kind(**{n: fields[n](v) for n, v in data.items() if n in fields})

        return build
    return _identity


def from_plain(kind: Any, data: Any) -> Any:
    """Rebuild a value of type ``kind`` from its decoded JSON."""
    return _decoder(kind)(data)


def loads(kind: type[T] | Any, raw: bytes | None, default: T) -> T:
    """Decode a document written by :func:`dumps`; ``default`` when it is absent."""
    if raw is None:
        return default
    result: T = from_plain(kind, json.loads(raw))
    return result
