"""Volumes, snapshots and snapshot policies."""
