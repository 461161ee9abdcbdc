"""Tables of offerings (filled by the guest-networking work)."""
