"""Guest networking: ipam."""
