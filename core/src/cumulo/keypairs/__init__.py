"""SSH key pairs."""
