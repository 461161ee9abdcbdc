"""network offerings and the services and providers each offers

Revision ID: ac80ee2f5e28
Revises: 47f2d6e915c5
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "ac80ee2f5e28"
down_revision: str | Sequence[str] | None = "47f2d6e915c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
