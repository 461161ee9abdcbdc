"""A job's parameters as stored in ``async_job.params``, and back.

The API parses and validates a request once; the job keeps the *parsed* values so the
worker runs the handler on exactly what the caller's request meant, without parsing
again. JSON carries strings, numbers, booleans, lists and maps as they are; dates and
timestamps are tagged so they come back as ``date``/``datetime``.

Secrets never lie in the table in clear text. A few async commands need one to do
their work (``addVpnUser password``, ``createVpnCustomerGateway ipsecpsk``, the device
``password`` of ``addNetscalerLoadBalancer`` ...), so dropping them is not an option:
their values are stored ``ENC(...)`` under the database key, as every other secret in
the ``cloud`` database, and decrypted only by the worker that runs the job.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from cumulo import crypto
from cumulo.sdk.errors import InternalError

SECRET_PARAMS = frozenset({"password", "privatekey", "ipsecpsk", "token", "secretkey"})
"""Parameter names whose values are secrets (4.1's async commands that take one)."""

_DATE, _DATETIME, _SECRET = "$date", "$datetime", "$secret"


def encode_params(
    params: Mapping[str, Any], database_key: str | None, algorithm: str = crypto.DEFAULT_ALGORITHM
) -> str:
    """``params`` as the JSON text stored in ``async_job.params``.

    :param database_key: encrypts :data:`SECRET_PARAMS`; ``""`` (encryption type
        ``none``) stores them plain as CloudStack then does; ``None`` (unknown) refuses.
    :raises InternalError: a secret is present but no key was given, or a value is of a
        type that JSON cannot carry (a bug in the caller, not bad input).
    """
    stored: dict[str, Any] = {}
    for name, value in params.items():
        if name in SECRET_PARAMS and isinstance(value, str) and value:
            stored[name] = {_SECRET: _protect(value, database_key, algorithm)}
        else:
            stored[name] = _encode(name, value)
    return json.dumps(stored, separators=(",", ":"), ensure_ascii=False)


def decode_params(
    text: str, database_key: str, algorithm: str = crypto.DEFAULT_ALGORITHM
) -> dict[str, Any]:
    """The parameters :func:`encode_params` stored, secrets decrypted.

    :raises cumulo.crypto.CryptoError: a secret does not decrypt with ``database_key``.
    """
    stored = json.loads(text)
    return {name: _decode(value, database_key, algorithm) for name, value in stored.items()}


def _protect(value: str, database_key: str | None, algorithm: str) -> str:
    if database_key is None:
        raise InternalError("a job with a secret parameter needs the database key to be stored")
    if not database_key:
        return value
    return crypto.wrap_enc(crypto.encrypt(value, database_key, algorithm))


def _encode(name: str, value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    # datetime is a date subclass: test it first.
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(name, item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _encode(name, item) for key, item in value.items()}
    raise InternalError(f"parameter {name} has a value of type {type(value).__name__}")


def _decode(value: Any, database_key: str, algorithm: str) -> Any:
    if isinstance(value, list):
        return [_decode(item, database_key, algorithm) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == _DATETIME:
            return dt.datetime.fromisoformat(inner)
        if tag == _DATE:
            return dt.date.fromisoformat(inner)
        if tag == _SECRET:
            wrapped = crypto.unwrap_enc(inner)
            return inner if wrapped is None else crypto.decrypt(wrapped, database_key, algorithm)
    return {key: _decode(item, database_key, algorithm) for key, item in value.items()}
