"""Global configuration values remembered for a few seconds per process.

Some keys are read on every request (``default.page.size`` by every list command); one
statement each time would be a fixed share of every answer. A :class:`ConfigCache`
(one per :class:`cumulo.runtime.Runtime`) remembers the effective global values that
:class:`cumulo.config.ConfigStore` read, for :data:`TTL_SECONDS` at most.

How fresh a value is:

* **a write through a store of this process** (``updateConfiguration``, ``cumulo
  config``, a test) is seen at once by every later request of this process: the
  write empties the cache, and so does the commit of the transaction that wrote
  (:func:`note_write`), so that a value another request read in between is dropped
  too. A session that wrote configuration never reads from the cache, so it always
  sees its own uncommitted values, and never leaves them in the cache;
* **a write by another management server**, or by SQL outside cumulo, is seen within
  :data:`TTL_SECONDS`. One exception stretches this by the length of one request: a
  request whose transaction snapshot predates a local commit (MariaDB's REPEATABLE
  READ) and reads the key afterwards may remember the old value once more.

CloudStack 4.1 reads most keys once at start-up and needs a restart to apply them, so
a few seconds is well within what operators expect. Scoped values (zone, account, ...)
are not cached: no hot path reads them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from sqlalchemy import event
from sqlalchemy.orm import Session

TTL_SECONDS = 5.0
"""How long a value read from the database is served without reading it again."""

_WRITTEN = "cumulo.config.written"
"""``Session.info`` key: the caches to empty when that session's transaction commits."""


class ConfigCache:
    """Effective global configuration values by key name, each with an expiry time.

    Thread-safe (gthread workers share one). A generation number, bumped by every
    :meth:`invalidate`, keeps a value read before an invalidation from being stored
    after it.

    :param ttl: seconds a value is served; ``0`` disables the cache.
    :param clock: a monotonic clock (tests pass a fake one).
    """

    def __init__(
        self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, str | None]] = {}
        self._generation = 0

    def lookup(self, names: Collection[str]) -> tuple[dict[str, str | None], int]:
        """The fresh values among ``names``, and the generation to pass to :meth:`store`
        with the values read for the others."""
        now = self._clock()
        with self._lock:
            found = {}
            for name in names:
                entry = self._values.get(name)
                if entry is not None and entry[0] > now:
                    found[name] = entry[1]
            return found, self._generation

    def store(self, values: dict[str, str | None], generation: int) -> None:
        """Remember ``values``, read from the database after :meth:`lookup` returned
        ``generation``; ignored if the cache was invalidated since."""
        if self.ttl <= 0:
            return
        expires = self._clock() + self.ttl
        with self._lock:
            if generation == self._generation:
                for name, value in values.items():
                    self._values[name] = (expires, value)

    def invalidate(self) -> None:
        """Forget every value (a configuration write)."""
        with self._lock:
            self._generation += 1
            self._values.clear()


def note_write(session: Session, cache: ConfigCache) -> None:
    """Record that ``session`` wrote configuration: ``cache`` is emptied now and again
    when the session commits, and the session stops reading from any cache."""
    cache.invalidate()
    written: set[ConfigCache] = session.info.setdefault(_WRITTEN, set())
    written.add(cache)


def has_written(session: Session) -> bool:
    """Whether ``session``'s current transaction wrote configuration (it must then read
    the database, which holds its own uncommitted values)."""
    return bool(session.info.get(_WRITTEN))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Every session class, not only the runtime's sessionmaker: a store may be handed
    # any session, and a committed write must reach the cache whichever it was.
    for cache in session.info.pop(_WRITTEN, ()):
        cache.invalidate()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # Nothing was written: the cache never held the rolled-back values (see has_written).
    session.info.pop(_WRITTEN, None)
