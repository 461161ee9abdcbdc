"""API commands of this package, contributed through ``cumulo_api_commands``."""

from __future__ import annotations
