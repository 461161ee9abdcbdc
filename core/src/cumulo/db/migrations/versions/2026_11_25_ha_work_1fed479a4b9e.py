"""HA work items

Revision ID: 1fed479a4b9e
Revises: b7e3c5a91d42
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "1fed479a4b9e"
down_revision: str | Sequence[str] | None = "b7e3c5a91d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
