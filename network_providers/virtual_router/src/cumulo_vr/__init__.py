"""cumulo's virtual router: the ``VirtualRouter`` and ``SecurityGroupProvider`` network
providers (entry-point group ``cumulo.network_providers``).

A router's configuration is a pure rendering of its network's state
(:mod:`cumulo_vr.render`), pushed atomically and idempotently (:mod:`cumulo_vr.configurator`)
through a transport chosen by the router's access URI (:mod:`cumulo_vr.transport`).
"""
