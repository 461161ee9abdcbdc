"""Guest networking: routers."""
