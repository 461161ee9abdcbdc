"""guest OS types, templates and ISOs

Revision ID: 6bdd38d4776f
Revises: 0087e34e7490
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "6bdd38d4776f"
down_revision: str | Sequence[str] | None = "0087e34e7490"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
