"""Clusters, hosts, their lifecycle and capacity, and hypervisor capabilities (CAP-12,
CAP-13): models, services, the heartbeat task and the 4.1 API commands."""
