"""SSH key pairs, resource limits and counts

Revision ID: 6de10d1f0b3d
Revises: 6bdd38d4776f
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "6de10d1f0b3d"
down_revision: str | Sequence[str] | None = "6bdd38d4776f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
