"""Tables of routers (filled by the guest-networking work)."""
