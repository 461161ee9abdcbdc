"""Virtual machines: instances, NICs, instance groups, their lifecycle."""
