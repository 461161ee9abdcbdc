"""Cloud infrastructure: where things run (regions, zones, physical networks, pods,
IP ranges) and, in :mod:`cumulo.infra.hosts`, what they run on (clusters, hosts).

Table names and columns follow CloudStack 4.1's schema (``data_center``,
``host_pod_ref``, ``vlan``, ``user_ip_address`` ...) so an operator reading a dump
finds what they know.
"""
