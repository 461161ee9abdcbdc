"""Tables of snapshots and snapshot policies (filled in by their issue)."""

from __future__ import annotations
