"""Service and disk offerings (REQUIREMENTS CAP-17)."""
