"""API commands of routers (a built-in plugin; filled by the guest-networking work)."""
