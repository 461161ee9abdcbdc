"""snapshots backed up to secondary storage (REQ-SS-01), volumes made from snapshots

Revision ID: 47f2d6e915c5
Revises: 477190de9a2c
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "47f2d6e915c5"
down_revision: str | Sequence[str] | None = "477190de9a2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
