"""firewall, port forwarding, static NAT, load balancing, security groups, remote-access VPN

Revision ID: 748b2a3231b6
Revises: e9a3856fd8c4
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "748b2a3231b6"
down_revision: str | Sequence[str] | None = "e9a3856fd8c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
