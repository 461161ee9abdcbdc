"""Tables of networks (filled by the guest-networking work)."""
