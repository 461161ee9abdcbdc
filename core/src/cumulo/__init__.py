"""cumulo: a CloudStack-compatible IaaS management server.

Plugins write ``from cumulo import hookimpl`` and import driver contracts from
``cumulo.sdk``; nothing else in this package is a public surface.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("cumulo")
"""Marker for plugin hook implementations: ``@hookimpl def cumulo_...``."""

__all__ = ["__version__", "hookimpl"]
