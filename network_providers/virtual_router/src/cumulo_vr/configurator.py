"""Read, change, render, push: how a provider call becomes a router's configuration.

:func:`converge` reads the state the router holds, applies the call's change (one
whole part replaced), renders the old and the new state, and pushes only the files
that differ, with the activation of exactly the services those files feed. Rendering
is pure, so equal states give equal files: a call that changes nothing pushes nothing
(idempotent retries), and a concurrent push by another process is detected by the
generation check and answered by reading again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from cumulo.sdk.network import ProviderUnreachable
from cumulo_vr.transport.base import GenerationConflict, Push, RouterTransport

S = TypeVar("S")
ATTEMPTS = 8


class Renderer(Protocol[S]):
    """What a provider renders; see :mod:`cumulo_vr.vr_renderer` and
    :mod:`cumulo_vr.sg_renderer`."""

    def decode(self, documents: Mapping[str, bytes]) -> S:
        """The state kept in ``documents`` (``state/*``)."""

    def render(self, state: S, base: str, parts: frozenset[str] | None = None) -> dict[str, bytes]:
        """Every file of ``state``, the ``state/`` documents included, by relative path;
        with ``parts``, only the files rendered from those parts of the state."""

    def changed_parts(self, old: S, new: S) -> frozenset[str] | None:
        """The parts of the state that differ (``None``: render everything)."""

    def validate(self, writes: Mapping[str, bytes]) -> str:
        """Shell checking the staged ``writes`` (``$STAGE``) before they replace anything."""

    def activate(self, old: S | None, new: S, changed: set[str], removed: set[str]) -> str:
        """Shell putting the changed files to work (``old`` is ``None``: everything)."""


def converge(
    transport: RouterTransport,
    renderer: Renderer[S],
    change: Callable[[S], S],
    *,
    force: bool = False,
    extra_writes: Mapping[str, bytes] | None = None,
    extra_removes: tuple[str, ...] = (),
) -> S:
    """Apply ``change`` to the router's state and push the difference.

    :param force: push and activate everything (``implement``: a router that was
        restarted, or files edited by hand, are brought back).
    :param extra_writes: files outside the rendered state, written with this push
        (one-shot passwords).
    :param extra_removes: files outside the rendered state to delete.
    :returns: the new state.
    :raises ProviderUnreachable: the router kept changing under us ``ATTEMPTS`` times.
    """
    for attempt in range(ATTEMPTS):
        snapshot = transport.read()
        old = renderer.decode(snapshot.documents)
        new = change(old)
        everything = force or snapshot.generation == 0 or snapshot.dirty
        parts = None if everything else renderer.changed_parts(old, new)
        if parts is not None and not parts and not extra_writes and not extra_removes:
            return new  # the same state: the same files
        new_files = renderer.render(new, transport.base, parts)
        old_files = {} if everything else renderer.render(old, transport.base, parts)
        writes = {path: data for path, data in new_files.items() if old_files.get(path) != data}
        removed = set(old_files) - set(new_files)
        writes.update(extra_writes or {})
        removes = tuple(sorted(removed | set(extra_removes)))
        if not writes and not removes:
            return new
        changed = set(writes)
        activate = ""
        if transport.runs_daemons:
            activate = renderer.activate(None if everything else old, new, changed, removed)
        push = Push(
            expected_generation=snapshot.generation,
            writes=writes,
            removes=removes,
            validate=renderer.validate(writes) if transport.runs_daemons else "",
            activate=activate,
        )
        try:
            transport.push(push)
        except GenerationConflict:
            # Another worker committed first: back off a little and start again from
            # what it committed.
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            continue
        return new
    raise ProviderUnreachable(
        f"the router's configuration changed {ATTEMPTS} times while this change was "
        "being applied; retry"
    )
