"""What a plugin needs to declare its own tables, and nothing more.

Plugin tables live on the same metadata as the core's (so one ``cumulo db check``
covers them) but in the plugin's own Alembic branch (see :mod:`cumulo.sdk.migrations`).
Plugins never import core models; they reference core rows by public UUID.
"""

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime, new_uuid, utcnow

__all__ = ["Base", "IdType", "IdentityMixin", "UtcDateTime", "new_uuid", "utcnow"]
