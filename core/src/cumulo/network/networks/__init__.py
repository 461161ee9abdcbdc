"""Guest networking: networks."""
