"""Guest networking: vpn."""
