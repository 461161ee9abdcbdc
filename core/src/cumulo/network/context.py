"""The core's :class:`~cumulo.sdk.network.NetworkContext`: what a provider asks of the
management server during a call — the network's virtual router, deployed and started
when it needs one (:mod:`cumulo.network.routers`).

It works on the orchestrator's session and the process's runtime (the database key
that reveals host passwords, the configuration, the placement settings); the runtime
is the one given, else the one the session's factory was made by
(``session.info["runtime"]``). Like every provider call it runs in a job worker:
starting a router commits the session around the hypervisor call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.compute.models import VmState
from cumulo.network.networks.models import Network
from cumulo.network.routers import deploy, lifecycle
from cumulo.sdk.errors import CloudError
from cumulo.sdk.network import NetworkContext, NetworkRef, ProviderUnreachable, RouterRef

if TYPE_CHECKING:
    from cumulo.runtime import Runtime

RUNTIME_INFO_KEY = "runtime"
"""Where a session made by a :class:`cumulo.runtime.Runtime`'s factory finds it."""
ALLOCATION_ATTEMPTS = 3


class CoreNetworkContext(NetworkContext):
    """Routers for providers, on ``session`` (see the module doc).

    :param session: the orchestrator's session.
    :param runtime: the process's runtime; default ``session.info["runtime"]``.
    """

    def __init__(self, session: Session, runtime: Runtime | None = None) -> None:
        self.session = session
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        """The runtime routers are started with.

        :raises ProviderUnreachable: none was given and the session knows none.
        """
        runtime = self._runtime or self.session.info.get(RUNTIME_INFO_KEY)
        if runtime is None:
            raise ProviderUnreachable(
                "routers cannot be started here: this session belongs to no management"
                " server runtime"
            )
        return runtime

    def _network(self, network: NetworkRef) -> Network:
        found = self.session.scalar(
            select(Network).where(Network.uuid == network.uuid, Network.removed.is_(None))
        )
        if found is None:
            raise ProviderUnreachable(f"network {network.uuid} does not exist (any more)")
        return found

    def ensure_router(self, network: NetworkRef) -> RouterRef:
        """The network's running router, allocated and started if need be (see
        :meth:`cumulo.sdk.network.NetworkContext.ensure_router`).

        :raises ProviderUnreachable: it could not be allocated or started (the reason
            from placement, storage or the hypervisor).
        """
        runtime = self.runtime
        row = self._network(network)
        try:
            for _ in range(ALLOCATION_ATTEMPTS):
                found = lifecycle.live_router(self.session, row.id)
                if found is None:
                    found = deploy.allocate_router(
                        self.session, row, runtime.database_key, runtime.algorithm
                    )
                if found is not None:
                    break
            if found is None:
                raise ProviderUnreachable(
                    f"the router of network {network.uuid} could not be allocated; retry"
                )
            router, vm = found
            if vm.state == VmState.STARTING.value:
                raise ProviderUnreachable(
                    f"router {vm.instance_name} is being started by another job; retry"
                )
            if vm.state != VmState.RUNNING.value:
                lifecycle.start_router(self.session, runtime, router, vm)
            return lifecycle.router_ref(router, vm)
        except CloudError as exc:
            raise ProviderUnreachable(
                f"the router of network {network.uuid} could not be started: {exc.errortext}"
            ) from exc

    def find_router(self, network: NetworkRef) -> RouterRef | None:
        """The network's router if it runs; never starts one."""
        row = self._network(network)
        found = lifecycle.live_router(self.session, row.id)
        if found is None or found[1].state != VmState.RUNNING.value:
            return None
        return lifecycle.router_ref(*found)

    def destroy_router(self, network: NetworkRef) -> None:
        """Stop and expunge the network's router; nothing when it has none.

        :raises ProviderUnreachable: it is starting or migrating (try again later).
        """
        found = self.session.scalar(select(Network.id).where(Network.uuid == network.uuid))
        if found is None:
            return
        live = lifecycle.live_router(self.session, found)
        if live is None:
            return
        try:
            lifecycle.destroy_router(self.session, self.runtime, *live)
            self.session.commit()
        except CloudError as exc:
            raise ProviderUnreachable(
                f"the router of network {network.uuid} could not be destroyed: {exc.errortext}"
            ) from exc
