"""High availability: restarting HA-enabled VMs of failed hosts elsewhere."""
