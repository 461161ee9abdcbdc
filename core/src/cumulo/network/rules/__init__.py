"""Guest networking: rules."""
