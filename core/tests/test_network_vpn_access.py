"""Remote-access VPN over the real API (CAP-30): the VPN and its users as the provider
receives them, the pre-shared key generated, encrypted at rest and shown to its owner
only, the seed's rules refused with clear errors (REQ-RAVPN-*), tenants isolated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cumulo import crypto
from cumulo.network.vpn.models import RemoteAccessVpn, VpnUser
from cumulo.runtime import Runtime
from cumulo.sdk.config import Scope
from cumulo.sdk.network import Service

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import (  # noqa: E402
    Cloud,
    GuestNet,
    RecordingProvider,
    Tenant,
    add_public_ips,
    add_vm,
    make_network,
    make_tenant,
    make_zone,
)

pytest_plugins = ("network_rules_world",)


def _snat(net: GuestNet) -> str:
    return next(iter(net.ips))


def _set(runtime: Runtime, name: str, value: str, account: Tenant | None = None) -> None:
    with runtime.sessions.begin() as session:
        store = runtime.config_store(session)
        if account is None:
            store.set(name, value)
        else:
            store.set(name, value, Scope.ACCOUNT, account.account_id)


def _stored(runtime: Runtime, value: str) -> str:
    inner = crypto.unwrap_enc(value)
    assert inner is not None, "stored in clear"
    return crypto.decrypt(inner, runtime.database_key, runtime.algorithm)


def test_a_vpn_on_the_source_nat_address_with_a_generated_key_req_ravpn_06_07(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """REQ-RAVPN-06: the range's first address is the server's; REQ-RAVPN-07: a key of
    ``remote.access.vpn.psk.length``, shown to the owner, stored encrypted."""
    _set(runtime, "remote.access.vpn.psk.length", "32")
    _set(runtime, "remote.access.vpn.client.ip.range", "10.8.0.1-10.8.0.20", alice)
    answer = cloud.call(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))
    assert answer["id"] == _snat(net)
    vpn = cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))["remoteaccessvpn"]
    assert vpn["state"] == "Running" and vpn["publicip"] == net.ips[_snat(net)]
    assert vpn["iprange"] == "10.8.0.2-10.8.0.20" and len(vpn["presharedkey"]) == 32
    applied = provider.applied[(net.uuid, Service.VPN)]
    assert (applied.public_ip, applied.local_ip, applied.ip_range) == (
        net.ips[_snat(net)], "10.8.0.1", "10.8.0.2-10.8.0.20",
    )  # fmt: skip
    assert applied.preshared_key == vpn["presharedkey"] and applied.users == ()
    with runtime.sessions() as session:
        stored = session.scalars(select(RemoteAccessVpn)).one().ipsec_psk
    assert _stored(runtime, stored) == vpn["presharedkey"]
    # Its ports are held (no port forwarding on them) and opened.
    assert {r.ports.start for r in provider.applied[(net.uuid, Service.FIREWALL)]} == {
        500,
        1701,
        4500,
    }
    bad = cloud.fail(
        alice.keys, "createPortForwardingRule", ipaddressid=_snat(net), protocol="udp",
        publicport=500, privateport=500, virtualmachineid=next(iter(net.vms)), openfirewall=False,
    )  # fmt: skip
    assert bad["errorcode"] == 537
    listed = cloud.call(alice.keys, "listRemoteAccessVpns", publicipid=_snat(net))
    assert listed["remoteaccessvpn"][0]["presharedkey"] == vpn["presharedkey"]
    cloud.ok(alice.keys, "deleteRemoteAccessVpn", publicipid=_snat(net))
    assert provider.applied[(net.uuid, Service.VPN)] is None
    assert provider.applied[(net.uuid, Service.FIREWALL)] == ()
    assert cloud.call(alice.keys, "listRemoteAccessVpns", publicipid=_snat(net)) == {}


def test_the_key_is_shown_to_the_owner_only(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, admin_keys: tuple[str, str]
) -> None:
    cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))
    seen = cloud.call(admin_keys, "listRemoteAccessVpns", publicipid=_snat(net), listall=True)
    (vpn,) = seen["remoteaccessvpn"]
    assert vpn["account"] == "alice" and "presharedkey" not in vpn


@pytest.mark.parametrize(
    ("iprange", "text"),
    [
        ("10.1.1.100-10.1.1.120", "overlaps with the guest network"),
        ("10.9.0.5", "invalid IP range"),
        ("10.9.0.5-10.9.0.5", "at least one client"),
        ("10.9.0.9-banana", "invalid IP range"),
    ],
)
def test_bad_client_ranges_are_431(
    cloud: Cloud, alice: Tenant, net: GuestNet, iprange: str, text: str
) -> None:
    bad = cloud.fail(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net), iprange=iprange)
    assert (
        bad["errorcode"] == 431
        and bad["errortext"].startswith("iprange")
        and text in bad["errortext"]
    )


def test_only_on_the_source_nat_address_once_per_network_req_ravpn_02_08(
    cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    """REQ-RAVPN-08: on the source NAT address; REQ-RAVPN-02: never shared."""
    other = list(net.ips)[1]
    bad = cloud.fail(alice.keys, "createRemoteAccessVpn", publicipid=other)
    assert bad["errorcode"] == 431 and "source NAT" in bad["errortext"]
    cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))
    bad = cloud.fail(alice.keys, "createRemoteAccessVpn", publicipid=other)
    assert bad["errorcode"] == 431 and "already exists" in bad["errortext"]


def test_no_vpn_in_basic_zones_or_without_the_service_req_net_01(
    runtime: Runtime, cloud: Cloud, alice: Tenant, zone: int
) -> None:
    """REQ-NET-01 / REQ-RAVPN-10: not in basic zones; REQ-RAVPN-01: the offering must
    include the Vpn service."""
    basic = make_zone(runtime, "basic", basic=True)
    shared = make_network(runtime, basic, alice, services={"Vpn": "VirtualRouter"})
    (ip,) = add_public_ips(runtime, basic, shared, alice, 1, base="198.51.100")
    bad = cloud.fail(alice.keys, "createRemoteAccessVpn", publicipid=ip)
    assert bad["errorcode"] == 431 and "basic zones" in bad["errortext"]
    plain = make_network(runtime, zone, alice, services={"SourceNat": "VirtualRouter"})
    (ip,) = add_public_ips(runtime, zone, plain, alice, 1, base="198.51.101")
    bad = cloud.fail(alice.keys, "createRemoteAccessVpn", publicipid=ip)
    assert bad["errorcode"] == 431 and "Vpn service is not supported" in bad["errortext"]


def test_users_are_shared_by_all_the_accounts_vpns_req_ravpn_04(
    runtime: Runtime, cloud: Cloud, alice: Tenant, zone: int, net: GuestNet,
    provider: type[RecordingProvider],
) -> None:  # fmt: skip
    """REQ-RAVPN-04: a VPN user of an account can use every VPN of that account."""
    second = make_network(runtime, zone, alice, cidr="10.4.4.0/24")
    (snat2,) = add_public_ips(runtime, zone, second, alice, 1, base="198.51.102")
    cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))
    cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=snat2, iprange="10.9.0.1-10.9.0.9")
    user = cloud.ok(alice.keys, "addVpnUser", username="carol", password="s3cret.pw")["vpnuser"]
    assert user["username"] == "carol" and user["state"] == "Active" and "password" not in user
    for network in (net, second):
        (served,) = provider.applied[(network.uuid, Service.VPN)].users
        assert (served.username, served.password) == ("carol", "s3cret.pw")
    with runtime.sessions() as session:
        stored = session.scalars(select(VpnUser)).one().password
    assert _stored(runtime, stored) == "s3cret.pw"
    assert cloud.call(alice.keys, "listVpnUsers")["vpnuser"][0]["id"] == user["id"]
    cloud.ok(alice.keys, "removeVpnUser", username="carol")
    assert provider.applied[(second.uuid, Service.VPN)].users == ()
    assert cloud.call(alice.keys, "listVpnUsers") == {}


@pytest.mark.parametrize(
    ("username", "password", "param"),
    [
        ("ab", "goodpass", "username"),
        ("-carol", "goodpass", "username"),
        ("carol smith", "goodpass", "username"),
        ("carol", "pw", "password"),
        ("carol", "pass word", "password"),
        ("carol", "x" * 33, "password"),
    ],
)
def test_bad_vpn_credentials_are_431(
    cloud: Cloud, alice: Tenant, username: str, password: str, param: str
) -> None:
    bad = cloud.fail(alice.keys, "addVpnUser", username=username, password=password)
    assert bad["errorcode"] == 431 and bad["errortext"].startswith(param)


def test_at_most_the_user_limit_and_each_name_once_req_ravpn_05(
    runtime: Runtime, cloud: Cloud, alice: Tenant
) -> None:
    """REQ-RAVPN-05: ``remote.access.vpn.user.limit`` users per account."""
    _set(runtime, "remote.access.vpn.user.limit", "2")
    cloud.ok(alice.keys, "addVpnUser", username="one", password="password1")
    bad = cloud.fail(alice.keys, "addVpnUser", username="one", password="password2")
    assert bad["errorcode"] == 431 and "already added" in bad["errortext"]
    cloud.ok(alice.keys, "addVpnUser", username="two", password="password2")
    bad = cloud.fail(alice.keys, "addVpnUser", username="three", password="password3")
    assert bad["errorcode"] == 532 and "more than 2" in bad["errortext"]
    other = make_tenant(runtime, "dave")
    cloud.ok(other.keys, "addVpnUser", username="one", password="password1")  # per account


def test_a_refused_user_is_removed_again(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))
    provider.refuse.add(Service.VPN)
    assert (
        cloud.refused(alice.keys, "addVpnUser", username="eve", password="password1")["errorcode"]
        == 530
    )
    with runtime.sessions() as session:
        assert session.scalars(select(VpnUser)).all() == []


def test_another_account_cannot_see_or_touch_vpns_or_users(
    runtime: Runtime, cloud: Cloud, alice: Tenant, bob: Tenant, zone: int, net: GuestNet
) -> None:
    cloud.ok(alice.keys, "createRemoteAccessVpn", publicipid=_snat(net))
    cloud.ok(alice.keys, "addVpnUser", username="carol", password="password1")
    assert cloud.fail(bob.keys, "listRemoteAccessVpns", publicipid=_snat(net))["errorcode"] == 531
    assert (
        cloud.refused(bob.keys, "deleteRemoteAccessVpn", publicipid=_snat(net))["errorcode"] == 531
    )
    assert cloud.call(bob.keys, "listVpnUsers") == {}
    assert cloud.call(bob.keys, "listVpnUsers", listall=True) == {}
    bad = cloud.refused(bob.keys, "removeVpnUser", username="carol")
    assert bad["errorcode"] == 431  # bob has no such user: alice's is out of sight
    bobs_net = make_network(runtime, zone, bob, cidr="10.7.7.0/24")
    add_vm(runtime, zone, bobs_net, bob, "b1", "10.7.7.7")
    assert cloud.call(alice.keys, "listVpnUsers")["count"] == 1
