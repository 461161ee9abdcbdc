"""API commands of ipam (a built-in plugin; filled by the guest-networking work)."""
