"""Tables of security groups (filled by the guest-networking work)."""
