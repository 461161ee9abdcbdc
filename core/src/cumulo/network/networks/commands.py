"""API commands of networks (a built-in plugin; filled by the guest-networking work)."""
