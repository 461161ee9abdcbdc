"""templates from volumes and snapshots, ISO attachments

Revision ID: ab8ceb55a6da
Revises: 3b00a8398413
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "ab8ceb55a6da"
down_revision: str | Sequence[str] | None = "3b00a8398413"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
