"""VM instances, NICs, instance groups, volumes, snapshots

Revision ID: 2f26c1f0c87a
Revises: 6de10d1f0b3d
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "2f26c1f0c87a"
down_revision: str | Sequence[str] | None = "6de10d1f0b3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
