"""host-local primary storage discovered from hosts (REQ-PS-06), capacity threshold alerts

Revision ID: 477190de9a2c
Revises: ab8ceb55a6da
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "477190de9a2c"
down_revision: str | Sequence[str] | None = "ab8ceb55a6da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
