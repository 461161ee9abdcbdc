"""snapshots and snapshot policies

Revision ID: b7e3c5a91d42
Revises: 10055f62c883
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "b7e3c5a91d42"
down_revision: str | Sequence[str] | None = "10055f62c883"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
