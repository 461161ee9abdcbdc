"""Guest networking: offerings."""
