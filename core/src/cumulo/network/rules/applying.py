"""How a rule command's job gets its change onto the network, as 4.1 does it: the
desired state is written first (rules ``Add``, or ``Revoke``), the network's providers
are given the whole new set (:func:`cumulo.network.orchestrator.apply`), and only after
they accepted it are rules marked ``Active`` or removed.

The job runs in three short transactions, never one held open across a provider call
(a router push may take seconds; on SQLite an open write transaction would hold the
database's write lock that long; :func:`cumulo.network.orchestrator.apply` commits the
session before it calls a provider):

1. the intent is committed (a create command's ``create`` step already did that for
   rules it made; deleting marks rules ``Revoke`` and commits here);
2. the providers are called; the sets they get are read in a transaction that has
   written nothing;
3. the outcome is recorded, in the transaction the job's completion commits.

When the providers refuse a new rule, it is removed again (4.1 revokes a rule whose
first apply failed) and the job fails with the provider's error. When they refuse a
removal, the rules stay ``Revoke`` — left out of every set and shown so — and deleting
them again retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from cumulo.network import orchestrator
from cumulo.network.rules.lookup import services_of
from cumulo.network.rules.models import NetworkRule, RuleState
from cumulo.sdk.api import Call
from cumulo.sdk.network import Service


def apply_services(session: Session, network_id: int, services: Iterable[Service]) -> None:
    """Hand the network's providers the whole current set of each service, in order;
    services the network does not have are skipped (an IP forwarding rule's opening on
    a network without a firewall, say).

    :raises cumulo.sdk.errors.CloudError: a provider failed (530/534 with its message).
    """
    offered = services_of(session, network_id)
    for service in services:
        if service.value in offered:
            orchestrator.apply(session, network_id, service)


def settle_added(
    session: Session,
    network_id: int,
    services: Sequence[Service],
    rule_ids: Sequence[int],
    *,
    undo: Callable[[Session], None] | None = None,
) -> None:
    """Phases 2 and 3 for rules committed ``Add``: apply, then mark them ``Active``.

    :param undo: on failure, removes whatever else the intent wrote (members, policies)
        instead of, or besides, the rules; runs in its own committed transaction.
    :raises cumulo.sdk.errors.CloudError: the providers refused; the rules (and what
        ``undo`` removes) are gone again.
    """
    try:
        apply_services(session, network_id, services)
    except Exception:
        session.rollback()
        if rule_ids:
            session.execute(delete(NetworkRule).where(NetworkRule.id.in_(rule_ids)))
        if undo is not None:
            undo(session)
        session.commit()
        raise
    if rule_ids:
        session.execute(
            update(NetworkRule)
            .where(NetworkRule.id.in_(rule_ids), NetworkRule.state == RuleState.ADD.value)
            .values(state=RuleState.ACTIVE.value)
        )


def apply_or_restore(
    session: Session, network_id: int, service: Service, restore: Callable[[Session], None]
) -> None:
    """Apply a change made in place (static NAT on or off, a rule's new target or
    algorithm), which the orchestrator commits before calling the provider; if the
    provider refuses, ``restore`` puts the old values back in a committed transaction
    of its own, and the error is raised."""
    try:
        apply_services(session, network_id, (service,))
    except Exception:
        session.rollback()
        restore(session)
        session.commit()
        raise


def bind_runtime(session: Session, runtime: object) -> None:
    """Make the process's runtime reachable from the session (``session.info
    ["runtime"]``): the orchestrator's router context and the VPN's rule set (which
    decrypts secrets with its database key) find it there."""
    if runtime is not None:
        session.info.setdefault("runtime", runtime)


def prepared(call: Call) -> Session:
    """The call's session, bound to the process's runtime (:func:`bind_runtime`)."""
    bind_runtime(call.session, call.services.get("runtime"))
    return call.session


def settle_revoked(
    session: Session, network_id: int, services: Sequence[Service], rule_ids: Sequence[int]
) -> None:
    """All three phases of removing rules: ``Revoke`` committed, apply, delete.

    :raises cumulo.sdk.errors.CloudError: the providers refused; the rules stay
        ``Revoke`` (committed) and a new delete retries.
    """
    if rule_ids:
        session.execute(
            update(NetworkRule)
            .where(NetworkRule.id.in_(rule_ids))
            .values(state=RuleState.REVOKE.value)
        )
    session.commit()
    apply_services(session, network_id, services)
    if rule_ids:
        session.execute(delete(NetworkRule).where(NetworkRule.id.in_(rule_ids)))
