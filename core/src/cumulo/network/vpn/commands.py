"""API commands of vpn (a built-in plugin; filled by the guest-networking work)."""
