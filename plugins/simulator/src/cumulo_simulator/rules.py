"""Behaviour rules: how the simulator delays or fails an operation on some hosts.

A rule names an operation (or ``*``), a scope (zone, pod, cluster, host id, or host guid;
unset fields match everything) and what happens: ``result`` ``ok`` (only the delay),
``fail`` (the host answers with a failure: ``OperationFailed``) or ``unreachable`` (the
host does not answer: ``HostUnreachable``), after ``wait`` milliseconds, at most
``count`` times (unset: until cleared).

The textual form is the one ``configureSimulator``'s ``value`` takes, CloudStack style:
``result:fail;wait:2000;message:disk on fire;count:1``. ``clear`` removes the rules of
that operation and scope.
"""

from __future__ import annotations

from dataclasses import dataclass

OPERATIONS: tuple[str, ...] = (
    "connect",
    "disconnect",
    "discover",
    "ping",
    "vm_states",
    "start",
    "stop",
    "reboot",
    "destroy",
    "migrate",
    "attach_volume",
    "detach_volume",
    "snapshot",
    "delete_snapshot",
    "attach_iso",
    "detach_iso",
    "console",
    "attach_pool",
    "pool_capacity",
    "create_volume",
    "delete_volume",
    "resize_volume",
    "copy_volume",
    "copy_to_store",
    "attach_store",
    "register_template",
    "delete_object",
)
"""Every operation a rule can name (``*`` names them all)."""

# The agent command names CloudStack 4.1's simulator is configured with, so scripts
# written for it keep working (lower-cased).
CLOUDSTACK_NAMES: dict[str, str] = {
    "startupcommand": "connect",
    "readycommand": "connect",
    "pingcommand": "ping",
    "pingroutingcommand": "ping",
    "checkhealthcommand": "ping",
    "clusterSyncCommand".lower(): "vm_states",
    "startcommand": "start",
    "stopcommand": "stop",
    "rebootcommand": "reboot",
    "migratecommand": "migrate",
    "preparefordmigrationcommand": "migrate",
    "attachvolumecommand": "attach_volume",
    "attachisocommand": "attach_iso",
    "createprivatetemplatefromvolumecommand": "copy_to_store",
    "createprivatetemplatefromsnapshotcommand": "copy_to_store",
    "managesnapshotcommand": "snapshot",
    "getvnc_portcommand": "console",
    "getvncportcommand": "console",
    "modifystoragepoolcommand": "attach_pool",
    "createstoragepoolcommand": "attach_pool",
    "getstoragestatscommand": "pool_capacity",
    "createcommand": "create_volume",
    "destroycommand": "delete_volume",
    "downloadcommand": "register_template",
}

RESULTS = ("ok", "fail", "unreachable")


class RuleError(ValueError):
    """A rule's text is invalid; ``param`` is ``name`` or ``value`` (the API parameter)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Scope:
    """Which hosts a rule applies to; ``None`` fields match any host."""

    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    host_id: int | None = None
    host_guid: str | None = None

    def matches(self, host: Scope) -> bool:
        """Whether ``host`` (a fully known location) is inside this scope."""
        return all(
            mine is None or mine == theirs
            for mine, theirs in (
                (self.zone_id, host.zone_id),
                (self.pod_id, host.pod_id),
                (self.cluster_id, host.cluster_id),
                (self.host_id, host.host_id),
                (self.host_guid, host.host_guid),
            )
        )

    @property
    def specificity(self) -> int:
        """Higher for narrower scopes: a host rule beats a cluster rule beats ..."""
        return (
            (16 if self.host_guid is not None else 0)
            + (8 if self.host_id is not None else 0)
            + (4 if self.cluster_id is not None else 0)
            + (2 if self.pod_id is not None else 0)
            + (1 if self.zone_id is not None else 0)
        )


@dataclass(frozen=True)
class Behaviour:
    """What a matching rule does: ``result`` after ``wait_ms``, ``count`` more times."""

    result: str = "ok"
    wait_ms: int = 0
    message: str = ""
    count: int | None = None


@dataclass(frozen=True)
class Rule:
    """A stored rule: ``id`` orders rules of equal specificity (newest wins)."""

    id: int
    operation: str
    scope: Scope
    behaviour: Behaviour


def operation_name(name: str) -> str:
    """The simulator operation for ``name`` (ours, ``*``, or a CloudStack command name).

    :raises RuleError: unknown name (``param`` = ``name``).
    """
    key = name.strip()
    if key == "*" or key in OPERATIONS:
        return key
    if key.lower() in CLOUDSTACK_NAMES:
        return CLOUDSTACK_NAMES[key.lower()]
    known = ", ".join(OPERATIONS)
    raise RuleError(
        "name", f"Unknown simulator operation {name!r} in name; use * or one of {known}"
    )


def parse_behaviour(value: str) -> Behaviour | None:
    """Parse ``result:fail;wait:2000;message:...;count:1``; ``None`` for ``clear``.

    :raises RuleError: an unknown key, result, or a non-integer (``param`` = ``value``).
    """
    text = value.strip()
    if text.lower() == "clear":
        return None
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, item = part.partition(":")
        if not sep:
            raise RuleError("value", f"Invalid value {part!r}: expected key:value pairs")
        fields[key.strip().lower()] = item.strip()
    unknown = set(fields) - {"result", "wait", "message", "count"}
    if unknown:
        raise RuleError("value", f"Unknown keys {sorted(unknown)} in value")
    result = fields.get("result", "ok").lower()
    if result == "timeout":
        result = "unreachable"
    if result not in RESULTS:
        raise RuleError("value", f"Invalid result {result!r} in value; use ok, fail, unreachable")
    try:
        wait_ms = int(fields.get("wait", "0"))
        count = int(fields["count"]) if "count" in fields else None
    except ValueError as exc:
        raise RuleError("value", "wait and count in value must be integers") from exc
    if wait_ms < 0 or (count is not None and count < 1):
        raise RuleError("value", "wait in value must be >= 0 and count >= 1")
    return Behaviour(result, wait_ms, fields.get("message", ""), count)


def choose(rules: list[Rule], operation: str, host: Scope) -> Rule | None:
    """The rule that applies to ``operation`` on ``host``: the most specific scope,
    then an exact operation before ``*``, then the newest."""
    candidates = [
        rule for rule in rules if rule.operation in (operation, "*") and rule.scope.matches(host)
    ]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda rule: (rule.scope.specificity, rule.operation != "*", rule.id),
    )
