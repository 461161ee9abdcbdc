"""API commands of rules (a built-in plugin; filled by the guest-networking work)."""
