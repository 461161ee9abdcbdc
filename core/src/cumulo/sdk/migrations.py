"""Alembic version locations: how a plugin brings its own tables.

Each plugin owns an Alembic branch. Its revisions live in its own package, its first
revision has ``branch_labels = ("<branch>",)`` and ``depends_on = "cumulo"`` (so its
tables are created after the core's), and its models are declared on
``cumulo.sdk.persistence.Base`` so that ``cumulo db check`` sees them. Removing a plugin
never requires editing a core migration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MigrationLocation:
    """A directory of Alembic revision files owned by one plugin.

    :param branch: the Alembic branch label of the plugin's first revision.
    :param path: absolute path of the directory holding the revision files.
    :param models: dotted module that declares the plugin's tables, imported before
        ``cumulo db check`` compares models with the database (``None``: no models).
    """

    branch: str
    path: str
    models: str | None = None
