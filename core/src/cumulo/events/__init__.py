"""Events: what happened in the cloud, as CloudStack 4.1 records and lists them.

- :func:`record` writes an ``event`` row in the caller's transaction and publishes a
  :class:`cumulo.sdk.Event` to ``cumulo_event`` observers once that transaction has
  committed (after :func:`install` on the session factory, which the
  :class:`cumulo.runtime.Runtime` does);
- :mod:`cumulo.events.types` is 4.1's catalogue of event type names;
- :mod:`cumulo.events.commands` declares ``listEvents``, ``listEventTypes``,
  ``archiveEvents`` and ``deleteEvents``.
"""

from cumulo.events.recorder import install, record

__all__ = ["install", "record"]
