"""The ``cumulo`` pytest plugin (entry point ``pytest11``): fixtures for cumulo's own
tests and for plugin authors. Fixtures live in one module per concern."""

from cumulo.testing.database import *  # noqa: F403
from cumulo.testing.plugins import *  # noqa: F403
