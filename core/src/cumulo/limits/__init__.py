"""Resource limits and counts per account and domain."""
