"""Programs the virtual router runs, pushed to it as files (standard library only)."""
