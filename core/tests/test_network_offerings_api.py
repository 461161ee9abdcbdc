"""Network offerings over the API, signed as 4.1 clients sign, on a real database
(REQUIREMENTS CAP-21, REQ-PN-04/05/09): the seeded 4.1 defaults, createNetworkOffering's
rules as 431s naming the parameter, update and delete, what tenants see, every list
filter, and one statement per list page.

:class:`Cloud` (a signed client running async jobs at once) and the topology helpers
are shared with the other ``test_network_*`` modules of this area.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import event, select

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth.keys import register_user_keys
from cumulo.events.models import Event
from cumulo.infra.models import (
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkTrafficType,
    Zone,
)
from cumulo.network.networks.models import Network
from cumulo.network.offerings.models import NetworkOffering
from cumulo.runtime import Runtime
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]

GUEST_DEFAULTS = {
    "DefaultSharedNetworkOfferingWithSGService",
    "DefaultSharedNetworkOffering",
    "DefaultIsolatedNetworkOfferingWithSourceNatService",
    "DefaultIsolatedNetworkOffering",
    "DefaultSharedNetscalerEIPandELBNetworkOffering",
    "DefaultIsolatedNetworkOfferingForVpcNetworks",
    "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
}
ROUTED = "DefaultIsolatedNetworkOfferingWithSourceNatService"


class Cloud:
    """Signed calls to the API as one caller; async commands are run to completion."""

    def __init__(self, api: falcon.testing.TestClient, runtime: Runtime, keys: Keys) -> None:
        self.api, self.runtime, self.keys = api, runtime, keys

    def as_(self, keys: Keys) -> Cloud:
        return Cloud(self.api, self.runtime, keys)

    def call(self, command: str, **params: Any) -> Any:
        """The answer of ``command`` (the job result for async commands)."""
        result = signed_request(self.api, self.keys, command, **params)
        assert result.status_code == 200, result.text
        (body,) = json.loads(result.content).values()
        if "jobid" not in body or command == "queryAsyncJobResult":
            return body
        run_pending(self.runtime, CommandRegistry.build(self.runtime.pm))
        job = self.call("queryAsyncJobResult", jobid=body["jobid"])
        assert job["jobstatus"] == 1, job
        return job["jobresult"]

    def error(self, command: str, **params: Any) -> tuple[int, str]:
        """``(errorcode, errortext)`` of a call that must fail (at once or in its job)."""
        result = signed_request(self.api, self.keys, command, **params)
        (body,) = json.loads(result.content).values()
        if result.status_code == 200 and "jobid" in body:
            run_pending(self.runtime, CommandRegistry.build(self.runtime.pm))
            job = self.call("queryAsyncJobResult", jobid=body["jobid"])
            assert job["jobstatus"] == 2, job
            return job["jobresult"]["errorcode"], job["jobresult"]["errortext"]
        assert result.status_code >= 400, result.text
        return body["errorcode"], body["errortext"]

    def offerings(self, **params: Any) -> dict[str, dict[str, Any]]:
        """``listNetworkOfferings`` by name; checks ``count`` against the page."""
        answer = self.call("listNetworkOfferings", **params)
        items = answer.get("networkoffering", [])
        assert answer.get("count", 0) == len(items)
        return {item["name"]: item for item in items}


def make_caller(runtime: Runtime, name: str, account_type: int) -> Keys:
    """A new account of ``account_type`` in ROOT with one user; its API keys."""
    with runtime.sessions.begin() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        account = Account(account_name=name, type=account_type, domain_id=root.id)
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            firstname=name,
            lastname="test",
            email=f"{name}@example.com",
        )
        session.add(user)
        session.flush()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


def make_zone(
    runtime: Runtime,
    name: str,
    *,
    basic: bool = False,
    providers: dict[str, str] | None = None,
    tags: str | None = None,
) -> Zone:
    """A zone with one guest physical network carrying ``providers`` (name → state)."""
    with runtime.sessions.begin() as session:
        zone = Zone(
            name=name,
            dns1="8.8.8.8",
            internal_dns1="10.0.0.2",
            networktype="Basic" if basic else "Advanced",
            guest_network_cidr=None if basic else "10.1.1.0/24",
        )
        session.add(zone)
        session.flush()
        physical = PhysicalNetwork(
            name=f"{name}-phys", data_center_id=zone.id, state="Enabled", tags=tags
        )
        session.add(physical)
        session.flush()
        session.add(
            PhysicalNetworkTrafficType(physical_network_id=physical.id, traffic_type="Guest")
        )
        for provider, state in (providers or {}).items():
            session.add(
                PhysicalNetworkServiceProvider(
                    physical_network_id=physical.id, provider_name=provider, state=state
                )
            )
        session.flush()
        session.expunge(zone)
        return zone


def make_network(runtime: Runtime, zone: Zone, offering_name: str, name: str = "net") -> str:
    """A guest network of the admin account created from the offering named so."""
    with runtime.sessions.begin() as session:
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        offering = session.scalars(
            select(NetworkOffering).where(NetworkOffering.name == offering_name)
        ).one()
        network = Network(
            name=name,
            display_text=name,
            traffic_type="Guest",
            network_offering_id=offering.id,
            data_center_id=zone.id,
            guru_name="ExternalGuestNetworkGuru",
            domain_id=admin.domain_id,
            account_id=admin.id,
            guest_type=offering.guest_type,
            cidr="10.1.1.0/24",
            gateway="10.1.1.1",
        )
        session.add(network)
        session.flush()
        return network.uuid


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    """The root admin's client."""
    return Cloud(api, runtime, admin_keys)


@pytest.fixture
def alice(cloud: Cloud) -> Cloud:
    """A plain user's client."""
    return cloud.as_(make_caller(cloud.runtime, "alice", 0))


def _create(cloud: Cloud, name: str = "custom", **params: Any) -> dict[str, Any]:
    params = {
        "name": name,
        "displaytext": f"{name} offering",
        "traffictype": "GUEST",
        "guestiptype": "Isolated",
        "supportedservices": "Dhcp,Dns,SourceNat,PortForwarding",
        **params,
    }
    offering: dict[str, Any] = cloud.call("createNetworkOffering", **params)["networkoffering"]
    return offering


def _services(offering: dict[str, Any]) -> dict[str, list[str]]:
    return {
        service["name"]: [provider["name"] for provider in service["provider"]]
        for service in offering["service"]
    }


# ---- the seeded 4.1 defaults ----------------------------------------------------------


def test_the_41_default_offerings_are_seeded_enabled_with_their_services(cloud: Cloud) -> None:
    """REQ-PN-04: every default offering is non-persistent; system ones are never listed."""
    listed = cloud.offerings()
    assert set(listed) == GUEST_DEFAULTS
    for offering in listed.values():
        assert offering["state"] == "Enabled" and offering["isdefault"] is True
        assert offering["ispersistent"] is False and offering["traffictype"] == "Guest"
    routed = listed[ROUTED]
    assert routed["availability"] == "Required" and routed["specifyvlan"] is False
    assert routed["guestiptype"] == "Isolated" and routed["networkrate"] == 200
    assert _services(routed) == {
        name: ["VirtualRouter"]
        for name in (
            "Vpn", "Dhcp", "Dns", "Firewall", "Lb", "UserData", "SourceNat", "StaticNat",
            "PortForwarding",
        )
    }  # fmt: skip
    snat = next(s for s in routed["service"] if s["name"] == "SourceNat")
    assert snat["capability"] == [
        {"name": name, "value": value, "canchooseservicecapability": False}
        for name, value in (("SupportedSourceNatTypes", "peraccount"), ("RedundantRouter", "false"))
    ]
    sg = listed["DefaultSharedNetworkOfferingWithSGService"]
    assert _services(sg) == {
        "Dhcp": ["VirtualRouter"],
        "Dns": ["VirtualRouter"],
        "UserData": ["VirtualRouter"],
        "SecurityGroup": ["SecurityGroupProvider"],
    }
    assert sg["specifyvlan"] is True and sg["specifyipranges"] is True
    eip = listed["DefaultSharedNetscalerEIPandELBNetworkOffering"]
    assert _services(eip)["Lb"] == ["Netscaler"] and _services(eip)["StaticNat"] == ["Netscaler"]
    lb = next(s for s in eip["service"] if s["name"] == "Lb")
    assert [(c["name"], c["value"]) for c in lb["capability"]] == [
        ("SupportedLBIsolation", "shared"),
        ("ElasticLb", "true"),
    ]
    vpc = listed["DefaultIsolatedNetworkOfferingForVpcNetworks"]
    assert vpc["forvpc"] is True and _services(vpc)["NetworkACL"] == ["VpcVirtualRouter"]
    assert "Lb" not in _services(listed["DefaultIsolatedNetworkOfferingForVpcNetworksNoLB"])
    assert listed["DefaultIsolatedNetworkOffering"]["forvpc"] is False


def test_system_offerings_exist_but_are_never_listed(cloud: Cloud) -> None:
    with cloud.runtime.sessions() as session:
        system = set(
            session.scalars(
                select(NetworkOffering.unique_name).where(NetworkOffering.system_only.is_(True))
            )
        )
        public = session.scalars(
            select(NetworkOffering).where(NetworkOffering.unique_name == "System-Public-Network")
        ).one()
    assert system == {
        "System-Public-Network",
        "System-Management-Network",
        "System-Control-Network",
        "System-Storage-Network",
        "System-Private-Gateway-Network-Offering",
    }
    assert cloud.offerings(id=public.uuid) == {}
    code, text = cloud.error("deleteNetworkOffering", id=public.uuid)
    assert code == 431 and "id" in text


# ---- createNetworkOffering ---------------------------------------------------------------


def test_create_stores_a_disabled_offering_with_providers_and_capabilities(cloud: Cloud) -> None:
    offering = _create(
        cloud,
        "shared-lb",
        supportedservices="Dhcp,Dns,SourceNat,Lb,StaticNat,PortForwarding",
        **{
            "serviceproviderlist[0].service": "Lb",
            "serviceproviderlist[0].provider": "Netscaler",
            "servicecapabilitylist[0].service": "Lb",
            "servicecapabilitylist[0].capabilitytype": "SupportedLBIsolation",
            "servicecapabilitylist[0].capabilityvalue": "shared",
            "servicecapabilitylist[1].service": "SourceNat",
            "servicecapabilitylist[1].capabilitytype": "RedundantRouter",
            "servicecapabilitylist[1].capabilityvalue": "true",
        },
        networkrate=100,
        tags="gold",
        ispersistent=True,
        conservemode=False,
    )
    assert offering["state"] == "Disabled" and offering["isdefault"] is False
    assert offering["availability"] == "Optional" and offering["ispersistent"] is True
    assert offering["networkrate"] == 100 and offering["tags"] == "gold"
    assert offering["conservemode"] is False
    # Firewall comes with port forwarding on the router; Gateway (with SourceNat) is hidden.
    assert _services(offering) == {
        "Dhcp": ["VirtualRouter"],
        "Dns": ["VirtualRouter"],
        "Firewall": ["VirtualRouter"],
        "Lb": ["Netscaler"],
        "SourceNat": ["VirtualRouter"],
        "StaticNat": ["VirtualRouter"],
        "PortForwarding": ["VirtualRouter"],
    }
    lb = next(s for s in offering["service"] if s["name"] == "Lb")
    assert lb["capability"][0]["value"] == "shared"
    snat = next(s for s in offering["service"] if s["name"] == "SourceNat")
    assert snat["capability"][1] == {
        "name": "RedundantRouter",
        "value": "true",
        "canchooseservicecapability": False,
    }
    with cloud.runtime.sessions() as session:
        event = session.scalars(select(Event).where(Event.type == "NETWORK.OFFERING.CREATE")).one()
    assert "shared-lb" in event.description


def test_create_with_the_router_system_offering(cloud: Cloud) -> None:
    system = cloud.call("listServiceOfferings", issystem=True, systemvmtype="domainrouter")
    router_uuid = system["serviceoffering"][0]["id"]
    offering = _create(cloud, "with-router", serviceofferingid=router_uuid)
    assert offering["serviceofferingid"] == router_uuid
    proxy = cloud.call("listServiceOfferings", issystem=True, systemvmtype="consoleproxy")
    code, text = cloud.error(
        "createNetworkOffering",
        name="bad",
        displaytext="bad",
        traffictype="Guest",
        guestiptype="Isolated",
        supportedservices="Dhcp",
        serviceofferingid=proxy["serviceoffering"][0]["id"],
    )
    assert code == 431 and text.startswith("serviceofferingid:") and "domainrouter" in text


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"traffictype": "Public"}, "traffictype", "only traffic type Guest"),
        ({"traffictype": "Blue"}, "traffictype", "invalid value"),
        ({"guestiptype": "Private"}, "guestiptype", "Shared or Isolated"),
        ({"availability": "Always"}, "availability", "Required and Optional"),
        ({"supportedservices": "Dhcp,Teleport"}, "supportedservices", "invalid service"),
        ({"supportedservices": "Dhcp,Gateway"}, "supportedservices", "comes with SourceNat"),
        ({"supportedservices": "Dhcp,SecurityGroup"}, "supportedservices", "only for"),
        (
            {"guestiptype": "Shared", "specifyvlan": True, "specifyipranges": True},
            "supportedservices",
            "Isolated",
        ),
        ({"specifyipranges": True}, "specifyipranges", "without the SourceNat"),
        (
            {"guestiptype": "Shared", "supportedservices": "Dhcp", "specifyipranges": True},
            "specifyvlan",
            "Shared",
        ),
        (
            {"guestiptype": "Shared", "supportedservices": "Dhcp", "specifyvlan": True},
            "specifyipranges",
            "Shared",
        ),
        (
            {
                "guestiptype": "Shared",
                "supportedservices": "Dhcp",
                "specifyvlan": True,
                "specifyipranges": True,
                "ispersistent": True,
            },
            "ispersistent",
            "Shared",
        ),
        ({"availability": "Required"}, "availability", "already Required"),
        (
            {"availability": "Required", "supportedservices": "Dhcp"},
            "availability",
            "SourceNat",
        ),
        ({"networkrate": -1}, "networkrate", "out of range"),
        (
            {
                "serviceproviderlist[0].service": "Dhcp",
                "serviceproviderlist[0].provider": "F5BigIp",
            },
            "serviceproviderlist",
            "does not support service Dhcp",
        ),
        (
            {"serviceproviderlist[0].service": "Lb", "serviceproviderlist[0].provider": "F5BigIp"},
            "serviceproviderlist",
            "not enabled for the network offering",
        ),
        (
            {"serviceproviderlist[0].service": "Dns", "serviceproviderlist[0].provider": "Magic"},
            "serviceproviderlist",
            "invalid service provider",
        ),
        (
            {
                "serviceproviderlist[0].service": "Dhcp",
                "serviceproviderlist[0].provider": "VirtualRouter",
                "serviceproviderlist[1].service": "Dhcp",
                "serviceproviderlist[1].provider": "ExternalDhcpServer",
            },
            "serviceproviderlist",
            "only one provider",
        ),
        (
            {
                "servicecapabilitylist[0].service": "Lb",
                "servicecapabilitylist[0].capabilitytype": "SupportedLBIsolation",
                "servicecapabilitylist[0].capabilityvalue": "dedicated",
            },
            "servicecapabilitylist",
            "only when Lb is enabled",
        ),
        (
            {
                "servicecapabilitylist[0].service": "SourceNat",
                "servicecapabilitylist[0].capabilitytype": "SupportedLBIsolation",
                "servicecapabilitylist[0].capabilityvalue": "dedicated",
            },
            "servicecapabilitylist",
            "cannot be specified for service SourceNat",
        ),
        (
            {
                "servicecapabilitylist[0].service": "SourceNat",
                "servicecapabilitylist[0].capabilitytype": "SupportedSourceNatTypes",
                "servicecapabilitylist[0].capabilityvalue": "perplanet",
            },
            "servicecapabilitylist",
            "possible values: peraccount, perzone",
        ),
        (
            {
                "servicecapabilitylist[0].service": "SourceNat",
                "servicecapabilitylist[0].capabilitytype": "SupportedSourceNatTypes",
                "servicecapabilitylist[0].capabilityvalue": "perzone",
            },
            "servicecapabilitylist",
            "VirtualRouter of service SourceNat does not support",
        ),
        (
            {
                "supportedservices": "Dhcp,Lb",
                "servicecapabilitylist[0].service": "Lb",
                "servicecapabilitylist[0].capabilitytype": "SupportedLBIsolation",
                "servicecapabilitylist[0].capabilityvalue": "shared",
            },
            "servicecapabilitylist",
            "only Netscaler",
        ),
        (
            {
                "supportedservices": "Dhcp,StaticNat",
                "servicecapabilitylist[0].service": "StaticNat",
                "servicecapabilitylist[0].capabilitytype": "AssociatePublicIP",
                "servicecapabilitylist[0].capabilityvalue": "true",
            },
            "servicecapabilitylist",
            "ElasticIp is true",
        ),
    ],
)
def test_create_refuses_what_41_refuses_naming_the_parameter(
    cloud: Cloud, params: dict[str, Any], parameter: str, words: str
) -> None:
    base = {
        "name": "bad",
        "displaytext": "bad",
        "traffictype": "Guest",
        "guestiptype": "Isolated",
        "supportedservices": "Dhcp,Dns,SourceNat",
    }
    code, text = cloud.error("createNetworkOffering", **{**base, **params})
    assert code == 431, text
    assert text.startswith(f"{parameter}:"), text
    assert words in text, text
    assert "bad" not in cloud.offerings()


def test_only_root_admins_create_update_and_delete(cloud: Cloud, alice: Cloud) -> None:
    dora = cloud.as_(make_caller(cloud.runtime, "dora", 2))
    for caller in (alice, dora):
        code, _ = caller.error(
            "createNetworkOffering",
            name="x",
            displaytext="x",
            traffictype="Guest",
            guestiptype="Isolated",
            supportedservices="Dhcp",
        )
        assert code == 432


# ---- update and delete --------------------------------------------------------------


def test_update_changes_only_what_41_allows(cloud: Cloud) -> None:
    """REQ-PN-05: the behaviour (services, persistence) cannot be edited."""
    offering = _create(cloud, "to-update", supportedservices="Dhcp,Dns")
    updated = cloud.call(
        "updateNetworkOffering",
        id=offering["id"],
        name="renamed",
        displaytext="new text",
        state="enabled",
        sortkey=5,
    )["networkoffering"]
    assert (updated["name"], updated["displaytext"], updated["state"]) == (
        "renamed",
        "new text",
        "Enabled",
    )
    code, text = cloud.error("updateNetworkOffering", id=offering["id"], state="Gone")
    assert code == 431 and text.startswith("state:")
    code, text = cloud.error("updateNetworkOffering", id=offering["id"], availability="Required")
    assert code == 431 and text.startswith("availability:") and "SourceNat" in text
    snat = _create(cloud, "snat")
    code, text = cloud.error("updateNetworkOffering", id=snat["id"], availability="Required")
    assert code == 431 and "already Required" in text
    code, text = cloud.error("updateNetworkOffering", name="orphan")
    assert code == 431 and text.startswith("id:")
    # giving up Required on the default lets another offering take it
    default = cloud.offerings(name=ROUTED)[ROUTED]
    cloud.call("updateNetworkOffering", id=default["id"], availability="Optional")
    taken = cloud.call("updateNetworkOffering", id=snat["id"], availability="Required")
    assert taken["networkoffering"]["availability"] == "Required"


def test_delete_refuses_defaults_and_offerings_in_use(cloud: Cloud) -> None:
    default = cloud.offerings(name=ROUTED)[ROUTED]
    code, text = cloud.error("deleteNetworkOffering", id=default["id"])
    assert code == 431 and "default network offering" in text
    used = _create(cloud, "used")
    zone = make_zone(cloud.runtime, "z-delete")
    make_network(cloud.runtime, zone, "used")
    code, text = cloud.error("deleteNetworkOffering", id=used["id"])
    assert code == 431 and text.startswith("id:") and "used by 1 network" in text
    free = _create(cloud, "free")
    assert cloud.call("deleteNetworkOffering", id=free["id"])["success"] == "true"
    assert "free" not in cloud.offerings()
    code, _ = cloud.error("deleteNetworkOffering", id=free["id"])
    assert code == 431


# ---- what tenants see -----------------------------------------------------------------


def test_tenants_list_enabled_offerings_only(cloud: Cloud, alice: Cloud) -> None:
    hidden = _create(cloud, "not-yet")
    dora = cloud.as_(make_caller(cloud.runtime, "dora", 2))
    for tenant in (alice, dora):
        seen = tenant.offerings()
        assert set(seen) == GUEST_DEFAULTS
        assert tenant.offerings(id=hidden["id"]) == {}
        assert tenant.offerings(state="Disabled") == {}
    assert "not-yet" in cloud.offerings(state="Disabled")
    cloud.call("updateNetworkOffering", id=hidden["id"], state="Enabled")
    assert "not-yet" in alice.offerings()


# ---- filters --------------------------------------------------------------------------


def test_list_filters(cloud: Cloud) -> None:
    _create(cloud, "tagged", tags="gold", supportedservices="Dhcp,Dns")
    names = set
    assert names(cloud.offerings(name=ROUTED)) == {ROUTED}
    assert names(cloud.offerings(keyword="NoLB")) == {
        "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB"
    }
    assert names(cloud.offerings(displaytext="Elastic IP")) == {
        "DefaultSharedNetscalerEIPandELBNetworkOffering"
    }
    assert names(cloud.offerings(guestiptype="shared")) == {
        "DefaultSharedNetworkOfferingWithSGService",
        "DefaultSharedNetworkOffering",
        "DefaultSharedNetscalerEIPandELBNetworkOffering",
    }
    assert names(cloud.offerings(isdefault=False)) == {"tagged"}
    assert names(cloud.offerings(availability="Required")) == {ROUTED}
    assert names(cloud.offerings(sourcenatsupported=True)) == {
        ROUTED,
        "DefaultIsolatedNetworkOfferingForVpcNetworks",
        "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
    }
    assert names(cloud.offerings(supportedservices="SecurityGroup,Lb")) == {
        "DefaultSharedNetscalerEIPandELBNetworkOffering"
    }
    assert names(cloud.offerings(forvpc=True)) == {
        "DefaultIsolatedNetworkOfferingForVpcNetworks",
        "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
    }
    assert names(cloud.offerings(specifyvlan=False, forvpc=False)) == {ROUTED, "tagged"}
    assert names(cloud.offerings(specifyipranges=True, guestiptype="Isolated")) == {
        "DefaultIsolatedNetworkOffering"
    }
    assert names(cloud.offerings(istagged=True)) == {"tagged"}
    assert names(cloud.offerings(tags="gold")) == {"tagged"}
    assert "tagged" not in cloud.offerings(istagged=False)
    assert names(cloud.offerings(traffictype="Guest")) == GUEST_DEFAULTS | {"tagged"}
    code, text = cloud.error("listNetworkOfferings", supportedservices="Warp")
    assert code == 431 and text.startswith("supportedservices:")


def test_list_for_a_zone_needs_its_providers_enabled(cloud: Cloud) -> None:
    advanced = make_zone(
        cloud.runtime,
        "adv",
        providers={"VirtualRouter": "Enabled", "SecurityGroupProvider": "Disabled"},
    )
    listed = cloud.offerings(zoneid=advanced.uuid)
    assert set(listed) == {ROUTED, "DefaultSharedNetworkOffering", "DefaultIsolatedNetworkOffering"}
    only_dhcp = cloud.offerings(zoneid=advanced.uuid, supportedservices="Dhcp")
    assert "DefaultSharedNetworkOfferingWithSGService" in only_dhcp
    tagged_zone = make_zone(
        cloud.runtime, "gold-zone", providers={"VirtualRouter": "Enabled"}, tags="gold"
    )
    _create(cloud, "gold", tags="gold", supportedservices="Dhcp,Dns")
    assert set(cloud.offerings(zoneid=tagged_zone.uuid)) == {"gold"}
    basic = make_zone(cloud.runtime, "basic", basic=True, providers={"VirtualRouter": "Enabled"})
    assert cloud.call("listNetworkOfferings", zoneid=basic.uuid) == {}


def test_list_by_network_shows_what_it_can_change_to(cloud: Cloud, alice: Cloud) -> None:
    """REQ-GN-11: the offerings a network may change to (same guest type, VLAN choice and
    security-group support, enabled, not its current one)."""
    zone = make_zone(cloud.runtime, "upg", providers={"VirtualRouter": "Enabled"})
    network = make_network(cloud.runtime, zone, ROUTED)
    other = _create(cloud, "other-isolated", supportedservices="Dhcp,Dns,SourceNat,Firewall")
    assert cloud.offerings(networkid=network) == {}
    cloud.call("updateNetworkOffering", id=other["id"], state="Enabled")
    assert set(cloud.offerings(networkid=network)) == {"other-isolated"}
    code, _ = alice.error("listNetworkOfferings", networkid=network)
    assert code == 531


# ---- statements -----------------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def queries(self) -> list[str]:
        control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
        return [s for s in self.statements if not s.lstrip().upper().startswith(control)]


@pytest.fixture
def counter(runtime: Runtime) -> Iterator[_Counter]:
    found = _Counter()
    event.listen(runtime.engine, "before_cursor_execute", found)
    yield found
    event.remove(runtime.engine, "before_cursor_execute", found)


def _list_queries(cloud: Cloud, counter: _Counter, **params: Any) -> list[str]:
    cloud.offerings()  # authentication and settings caches warm
    counter.statements.clear()
    cloud.call("listNetworkOfferings", **params)
    return [q for q in counter.queries if "network_offerings" in q]


def test_one_statement_per_page_whatever_the_number_of_offerings(
    cloud: Cloud, counter: _Counter
) -> None:
    few = _list_queries(cloud, counter, supportedservices="Dhcp", forvpc=False)
    for index in range(25):
        _create(cloud, f"many-{index}", supportedservices="Dhcp,Dns,SourceNat,Lb,Vpn")
    many = _list_queries(cloud, counter, supportedservices="Dhcp", forvpc=False)
    assert len(few) == len(many) == 1
    paged = _list_queries(cloud, counter, page=2, pagesize=10)
    assert len(paged) == 1
    answer = cloud.call("listNetworkOfferings", page=2, pagesize=10)
    assert answer["count"] == 32 and len(answer["networkoffering"]) == 10
