"""Guest networking: security groups."""
