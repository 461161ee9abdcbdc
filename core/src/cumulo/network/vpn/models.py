"""Tables of vpn (filled by the guest-networking work)."""
