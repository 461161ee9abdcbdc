"""API commands of offerings (a built-in plugin; filled by the guest-networking work)."""
