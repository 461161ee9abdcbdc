"""How a provider's rendered files reach a router, and how they are switched to.

A transport owns one directory on the router (the provider's ``base``) holding:

- ``generation`` — how many pushes were committed; a push names the generation it was
  computed from and is refused (:class:`GenerationConflict`) if another process
  committed in between, so two job workers configuring the same router never mix
  their states: the loser reads again and re-renders (compare-and-swap under a lock
  held on the router);
- ``dirty`` — present while a committed configuration is not yet activated (its
  daemons failed to reload); the next push activates everything again;
- ``state/`` and the rendered files.

A push writes changed files to a staging directory, validates them there (the
renderer's shell snippet: ``iptables-restore --test``, ``haproxy -c`` ...), renames
them into place — each file is replaced atomically — and runs the activation snippet
(``iptables-restore``, which swaps each table atomically, daemon reloads).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

# Exit codes of the push script, shared with :mod:`cumulo_vr.transport.script`.
EXIT_CONFLICT = 75  # EX_TEMPFAIL: the generation moved on
EXIT_INVALID = 65  # EX_DATAERR: validation refused the staged configuration


class GenerationConflict(Exception):
    """Another push was committed since the state was read: read again."""


@dataclass(frozen=True)
class Snapshot:
    """What a provider last committed on the router.

    :param generation: the committed generation (0: nothing was ever pushed).
    :param dirty: the last committed configuration was not fully activated.
    :param documents: the ``state/`` files, by relative path.
    """

    generation: int = 0
    dirty: bool = False
    documents: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Push:
    """One configuration change.

    :param expected_generation: the generation the change was computed from.
    :param writes: relative path → new content (only what changed).
    :param removes: relative paths to delete.
    :param validate: shell run before anything is replaced, with ``$STAGE`` the staging
        directory (holding ``writes``) and ``$BASE`` the provider's directory; exit 65
        refuses the push.
    :param activate: shell run after the files are in place (``$BASE``).
    """

    expected_generation: int
    writes: Mapping[str, bytes]
    removes: tuple[str, ...] = ()
    validate: str = ""
    activate: str = ""


class RouterTransport(ABC):
    """Reads and pushes one provider's configuration on one router.

    :ivar base: the provider's directory on the router (absolute, POSIX).
    :ivar runs_daemons: whether pushes are activated (``False`` for ``file://``, where
        files are only written).
    """

    base: str
    runs_daemons: bool = True

    @abstractmethod
    def read(self) -> Snapshot:
        """The committed state.

        :raises ProviderUnreachable: the router did not answer.
        """

    @abstractmethod
    def push(self, push: Push) -> None:
        """Stage, validate, commit and activate ``push``.

        :raises GenerationConflict: the generation is no longer ``expected_generation``.
        :raises ProviderRefused: validation or activation failed (the message says why).
        :raises ProviderUnreachable: the router did not answer.
        """

    @abstractmethod
    def teardown(self, stop: str) -> None:
        """Run ``stop`` (shell, ``$BASE``) and remove the provider's directory;
        idempotent, and a router that is already gone is not an error."""
