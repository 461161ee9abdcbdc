"""Stickiness policies of load balancers (CAP-26 §29.2, REQ-LB-01, REQ-LB-02).

The methods a policy may use, and their parameters, are what the network's Lb
provider declares in its ``SupportedStickinessMethods`` capability — the authoritative
list (REQ-LB-02), 4.1's JSON as ``listNetworks`` shows it::

    [{"methodname": "LbCookie", "description": "...",
      "paramlist": [{"paramname": "cookie-name", "required": false, "isflag": false,
                     "description": "..."}, ...]}, ...]

A policy is checked against it as 4.1 does: the method is one of them (any case), every
parameter given is one of the method's, every required one is given, a flag's value
is ``true`` or ``false``; the values of the parameters haproxy reads as sizes or times
(``tablesize``, ``expire``, ``holdtime``, ``length``) must have that form (4.1's
``VirtualRouterElement`` checks the same). A load balancer has at most one policy (4.1:
"Already policy attached").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.network.rules.load_balancing import lb_capabilities, lb_provider
from cumulo.network.rules.models import LbStickinessPolicy
from cumulo.sdk.errors import InvalidParameterValue

_SIZE = re.compile(r"^\d+[kmg]?$", re.IGNORECASE)
_TIME = re.compile(r"^\d+(ms|s|m|h|d)?$", re.IGNORECASE)
_FORMATS = {
    "tablesize": (_SIZE, "a size such as 200k (digits, then k, m or g)"),
    "expire": (_TIME, "a time such as 30m (digits, then ms, s, m, h or d)"),
    "holdtime": (_TIME, "a time such as 3h (digits, then ms, s, m, h or d)"),
    "length": (re.compile(r"^\d+$"), "a number of characters"),
}


@dataclass(frozen=True)
class Method:
    """A stickiness method a provider supports."""

    name: str
    params: Mapping[str, tuple[bool, bool]]
    """Parameter name (lower case) → (required, is a flag)."""


def supported_methods(capability: str) -> dict[str, Method]:
    """The methods of a ``SupportedStickinessMethods`` value, by lower-case name
    (nothing when the provider declares none or the value is not 4.1's JSON)."""
    try:
        declared = json.loads(capability) if capability else []
    except ValueError:
        return {}
    methods: dict[str, Method] = {}
    for entry in declared if isinstance(declared, list) else []:
        if not isinstance(entry, dict) or not entry.get("methodname"):
            continue
        params = {
            str(p.get("paramname", "")).lower(): (bool(p.get("required")), bool(p.get("isflag")))
            for p in entry.get("paramlist") or []
            if isinstance(p, dict) and p.get("paramname")
        }
        methods[str(entry["methodname"]).lower()] = Method(str(entry["methodname"]), params)
    return methods


def parse_params(entries: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """``param[i].name``/``param[i].value`` pairs as a dict (names lower case).

    :raises InvalidParameterValue: an entry without a name (431 naming ``param``).
    """
    found: dict[str, str] = {}
    for entry in entries or ():
        lowered = {str(k).lower(): v for k, v in entry.items()}
        name = str(lowered.get("name", "")).strip()
        if not name:
            raise InvalidParameterValue("param: every param[i] needs a name (param[i].name)")
        found[name.lower()] = str(lowered.get("value", "")).strip()
    return found


def validate(method_name: str, params: dict[str, str], methods: dict[str, Method]) -> Method:
    """The method, if ``params`` suit it (module doc).

    :raises InvalidParameterValue: naming ``methodname`` or ``param``.
    """
    method = methods.get(method_name.strip().lower())
    if method is None:
        known = ", ".join(m.name for m in methods.values()) or "none"
        raise InvalidParameterValue(
            f"methodname: {method_name!r} is not a stickiness method of the network's load"
            f" balancer; supported (SupportedStickinessMethods): {known}"
        )
    for name, value in params.items():
        if name not in method.params:
            raise InvalidParameterValue(
                f"param: {name!r} is not a parameter of stickiness method {method.name};"
                f" its parameters: {', '.join(method.params) or 'none'}"
            )
        _required, flag = method.params[name]
        if flag and value.lower() not in ("true", "false"):
            raise InvalidParameterValue(
                f"param: {name} is a flag; give true or false, not {value!r}"
            )
        if name in _FORMATS and not flag:
            pattern, shape = _FORMATS[name]
            if not pattern.match(value):
                raise InvalidParameterValue(f"param: {name} must be {shape}, not {value!r}")
    missing = [n for n, (required, _flag) in method.params.items() if required and n not in params]
    if missing:
        raise InvalidParameterValue(
            f"param: stickiness method {method.name} requires {', '.join(missing)}"
        )
    return method


def create(
    session: Session,
    *,
    lb_id: int,
    network_id: int,
    name: str,
    description: str | None,
    method_name: str,
    param_entries: Sequence[Mapping[str, Any]] | None,
) -> LbStickinessPolicy:
    """``createLBStickinessPolicy``'s create step: checked, written (not revoked).

    :raises InvalidParameterValue: a bad method or parameters, or the load balancer has
        a policy already (431).
    """
    existing = session.scalar(
        select(LbStickinessPolicy.uuid).where(
            LbStickinessPolicy.load_balancer_id == lb_id,
            LbStickinessPolicy.revoke.is_(False),
        )
    )
    if existing is not None:
        raise InvalidParameterValue(
            f"lbruleid: Failed to create Stickiness policy: Already policy attached ({existing})"
        )
    capability = lb_capabilities(lb_provider(session, network_id)).get(
        "SupportedStickinessMethods", ""
    )
    params = parse_params(param_entries)
    method = validate(method_name, params, supported_methods(capability))
    policy = LbStickinessPolicy(
        load_balancer_id=lb_id,
        name=name,
        description=description,
        method_name=method.name,
        params=json.dumps(params, sort_keys=True),
    )
    session.add(policy)
    session.flush()
    return policy


def params_of(stored: str) -> dict[str, str]:
    """A policy's stored parameters."""
    try:
        value = json.loads(stored or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
