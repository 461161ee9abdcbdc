"""The ``cumulo`` pytest plugin (entry point ``pytest11``): fixtures for cumulo's own
tests and for plugin authors. Fixtures and hooks live in one module per concern, each
registered as a plugin of its own so that their pytest hooks never shadow each other."""

pytest_plugins = ("cumulo.testing.database", "cumulo.testing.plugins")
