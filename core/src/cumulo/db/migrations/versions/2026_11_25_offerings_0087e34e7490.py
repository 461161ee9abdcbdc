"""service and disk offerings

Revision ID: 0087e34e7490
Revises: ae71b2bc20ba
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0087e34e7490"
down_revision: str | Sequence[str] | None = "ae71b2bc20ba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
