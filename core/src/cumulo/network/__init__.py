"""Guest networking: network offerings, guest networks, public IP management, the rules
tenants put on them (firewall, NAT, load balancing, security groups, VPN), and the
orchestrator that hands each service to the provider the network's offering names
(:mod:`cumulo.sdk.network`)."""
