"""The 4.1 guest network commands — createNetwork, updateNetwork, restartNetwork,
deleteNetwork, listNetworks — contributed as a built-in plugin
(``cumulo.network.networks.commands`` in ``BUILTIN_PLUGINS``), with the network
settings (``network.gc.interval``, ``network.gc.wait``, ``guest.domain.suffix``,
``allow.subdomain.network.access``).

Importing this module registers the ``network`` counter with
:mod:`cumulo.limits.counters` (``updateResourceCount`` recounts through it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import hookimpl
from cumulo.accounts.commands import params
from cumulo.limits import counters
from cumulo.limits.types import ResourceType
from cumulo.network.networks import handlers, settings
from cumulo.network.networks.models import AclType, Network
from cumulo.network.networks.views import FIELDS
from cumulo.network.offerings.models import NetworkOffering
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import ALL_ROLES, Command, Param, ParamType

_USER = "org.apache.cloudstack.api.command.user.network"
_SUCCESS = ("success", "displaytext")
_GATEWAY_TEXT = (
    "the gateway of the network. Required for Shared networks and Isolated networks when it"
    " belongs to VPC"
)


def count_networks(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Live networks counted against each account's ``network`` limit (4.1: ``Account``
    networks of offerings without ``specifyvlan``); one statement."""
    rows = session.execute(
        select(Network.account_id, func.count())
        .join(NetworkOffering, NetworkOffering.id == Network.network_offering_id)
        .where(
            Network.account_id.in_(account_ids),
            Network.removed.is_(None),
            Network.acl_type == AclType.ACCOUNT.value,
            NetworkOffering.specify_vlan.is_(False),
        )
        .group_by(Network.account_id)
    )
    return {account_id: int(count) for account_id, count in rows}


counters.register(ResourceType.NETWORK, count_networks)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createNetwork",
        handler=handlers.create,
        params=(
            Param("name", description="the name of the network", required=True),
            Param("displaytext", description="the display text of the network", required=True),
            Param(
                "networkofferingid",
                ParamType.UUID,
                description="the network offering id",
                required=True,
                entity="NetworkOffering",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the network",
                required=True,
                entity="Zone",
            ),
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="the Physical Network ID the network belongs to",
                entity="PhysicalNetwork",
            ),
            Param("gateway", description=_GATEWAY_TEXT),
            Param(
                "netmask",
                description=(
                    "the netmask of the network. Required for Shared networks and Isolated"
                    " networks when it belongs to VPC"
                ),
            ),
            Param("startip", description="the beginning IP address in the network IP range"),
            Param(
                "endip",
                description=(
                    "the ending IP address in the network IP range. If not specified, will be"
                    " defaulted to startIP"
                ),
            ),
            Param("vlan", description="the ID or VID of the network"),
            Param("networkdomain", description="network domain"),
            Param(
                "acltype",
                description=(
                    "Access control type; supported values are account and domain. In 3.0 all"
                    " shared networks should have aclType=Domain, and all Isolated networks -"
                    " Account. Account means that only the account owner can use the network,"
                    " domain - all accouns in the domain can use the network"
                ),
            ),
            Param("account", description="account who will own the network"),
            Param(
                "projectid",
                ParamType.UUID,
                description="an optional project for the ssh key",
                entity="Project",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="domain ID of the account owning a network",
                entity="Domain",
            ),
            Param(
                "subdomainaccess",
                ParamType.BOOLEAN,
                description=(
                    "Defines whether to allow subdomains to use networks dedicated to their"
                    " parent domain(s). Should be used with aclType=Domain, defaulted to"
                    " allow.subdomain.network.access global config if not specified"
                ),
            ),
            Param("vpcid", ParamType.UUID, description="the VPC network belongs to", entity="Vpc"),
            Param("startipv6", description="the beginning IPv6 address in the IPv6 network range"),
            Param("endipv6", description="the ending IPv6 address in the IPv6 network range"),
            Param(
                "ip6gateway",
                description=(
                    "the gateway of the IPv6 network. Required for Shared networks and Isolated"
                    " networks when it belongs to VPC"
                ),
            ),
            Param("ip6cidr", description="the CIDR of IPv6 network, must be at least /64"),
        ),
        roles=ALL_ROLES,
        response_name="createnetworkresponse",
        response_class="NetworkResponse",
        response_fields=FIELDS,
        description="Creates a network",
        related=("listNetworks", "updateNetwork"),
        java_class=f"{_USER}.CreateNetworkCmd",
        event_type="NETWORK.CREATE",
    ),
    Command(
        name="updateNetwork",
        handler=handlers.update_network,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the network",
                required=True,
                entity="Network",
            ),
            Param("name", description="the new name for the network"),
            Param("displaytext", description="the new display text for the network"),
            Param("networkdomain", description="network domain"),
            Param(
                "changecidr",
                ParamType.BOOLEAN,
                description="Force update even if cidr type is different",
            ),
            Param(
                "networkofferingid",
                ParamType.UUID,
                description="network offering ID",
                entity="NetworkOffering",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="updatenetworkresponse",
        response_class="NetworkResponse",
        response_fields=FIELDS,
        description="Updates a network",
        java_class=f"{_USER}.UpdateNetworkCmd",
        instance_type="Network",
        event_type="NETWORK.UPDATE",
    ),
    Command(
        name="restartNetwork",
        handler=handlers.restart,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The id of the network to restart.",
                required=True,
                entity="Network",
            ),
            Param("cleanup", ParamType.BOOLEAN, description="If cleanup old network elements"),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="restartnetworkresponse",
        response_class="IPAddressResponse",
        response_fields=_SUCCESS,
        description=(
            "Restarts the network; includes 1) restarting network elements - virtual routers,"
            " dhcp servers 2) reapplying all public ips 3) reapplying loadBalancing/"
            "portForwarding rules"
        ),
        java_class=f"{_USER}.RestartNetworkCmd",
        instance_type="Network",
        event_type="NETWORK.RESTART",
    ),
    Command(
        name="deleteNetwork",
        handler=handlers.delete,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the network",
                required=True,
                entity="Network",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deletenetworkresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes a network",
        java_class=f"{_USER}.DeleteNetworkCmd",
        instance_type="Network",
        event_type="NETWORK.DELETE",
    ),
    Command(
        name="listNetworks",
        handler=handlers.list_handler,
        params=(
            Param("id", ParamType.UUID, description="list networks by id", entity="Network"),
            Param(
                "zoneid", ParamType.UUID, description="the Zone ID of the network", entity="Zone"
            ),
            Param(
                "type",
                description="the type of the network. Supported values are: Isolated and Shared",
            ),
            Param(
                "issystem",
                ParamType.BOOLEAN,
                description="true if network is system, false otherwise",
            ),
            Param(
                "acltype",
                description=(
                    "list networks by ACL (access control list) type. Supported values are"
                    " Account and Domain"
                ),
            ),
            Param("traffictype", description="type of the traffic"),
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="list networks by physical network id",
                entity="PhysicalNetwork",
            ),
            Param(
                "supportedservices",
                ParamType.LIST,
                description="list networks supporting certain services",
                item_type=ParamType.STRING,
            ),
            Param(
                "restartrequired",
                ParamType.BOOLEAN,
                description="list networks by restartRequired",
            ),
            Param(
                "specifyipranges",
                ParamType.BOOLEAN,
                description="true if need to list only networks which support specifying ip ranges",
            ),
            Param("vpcid", ParamType.UUID, description="List networks by VPC", entity="Vpc"),
            Param(
                "canusefordeploy",
                ParamType.BOOLEAN,
                description="list networks available for vm deployment",
            ),
            Param("forvpc", ParamType.BOOLEAN, description="the network belongs to vpc"),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            Param(
                "projectid",
                ParamType.UUID,
                description="list objects by project",
                entity="Project",
            ),
            Param(
                "account",
                description=(
                    "list resources by account. Must be used with the domainId parameter."
                ),
            ),
            params.LISTALL,
            params.LIST_DOMAIN,
            params.ISRECURSIVE,
            *params.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listnetworksresponse",
        response_class="NetworkResponse",
        response_fields=FIELDS,
        description="Lists all available networks.",
        related=("updateNetwork",),
        java_class=f"{_USER}.ListNetworksCmd",
    ),
)
"""Every 4.1 guest network command cumulo implements."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The guest network commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """The network settings (:mod:`.settings`)."""
    return list(settings.KEYS)
