"""guest networks, their services and providers, public IP ownership

Revision ID: e9a3856fd8c4
Revises: ac80ee2f5e28
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "e9a3856fd8c4"
down_revision: str | Sequence[str] | None = "ac80ee2f5e28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
