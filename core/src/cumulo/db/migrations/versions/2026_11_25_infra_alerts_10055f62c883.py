"""alerts and infrastructure leftovers

Revision ID: 10055f62c883
Revises: 2f26c1f0c87a
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "10055f62c883"
down_revision: str | Sequence[str] | None = "2f26c1f0c87a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
