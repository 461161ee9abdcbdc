"""storage pool allocated capacity and deploy hot-path indexes

Revision ID: 3b00a8398413
Revises: 1fed479a4b9e
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "3b00a8398413"
down_revision: str | Sequence[str] | None = "1fed479a4b9e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
