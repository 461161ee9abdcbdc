"""Tables of rules (filled by the guest-networking work)."""
