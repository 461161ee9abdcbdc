"""API commands of security groups (a built-in plugin; filled by the guest-networking work)."""
