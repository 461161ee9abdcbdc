"""From an ``addHost`` URL to the libvirt URI and the host's options (no libvirt needed).

REQ-KVM-02 (``network.bridge.type``), REQ-KVM-03/04 (SSH and TCP 16509 transports),
REQ-KVM-05 (bridge names), REQ-KVM-09 (the management server's own libvirtd).
"""

from __future__ import annotations

import pytest

pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from cumulo_kvm.hosturl import HostUrlError, host_options

from cumulo.sdk import HostConnection, OperationFailed


def _options(url: str, username: str = "root", **details: str):  # type: ignore[no-untyped-def]
    return host_options(HostConnection(url, username, "secret-password", details=details))


@pytest.mark.parametrize(
    ("url", "uri", "address"),
    [
        ("http://10.1.1.5", "qemu+tcp://10.1.1.5/system", "10.1.1.5"),
        ("10.1.1.5", "qemu+tcp://10.1.1.5/system", "10.1.1.5"),
        (
            "http://kvm1.example.com:8080/ignored",
            "qemu+tcp://kvm1.example.com/system",
            "kvm1.example.com",
        ),
        ("http://10.1.1.5?libvirt.transport=ssh", "qemu+ssh://root@10.1.1.5/system", "10.1.1.5"),
        ("http://10.1.1.5?libvirt.transport=tls", "qemu+tls://10.1.1.5/system", "10.1.1.5"),
        ("http://localhost?libvirt.transport=unix", "qemu+unix:///system", "localhost"),
        ("qemu+tcp://10.1.1.5:16509/system", "qemu+tcp://10.1.1.5:16509/system", "10.1.1.5"),
        ("qemu+ssh://admin@10.1.1.5/system", "qemu+ssh://admin@10.1.1.5/system", "10.1.1.5"),
        (
            "qemu+ssh://10.1.1.5/system?keyfile=/k",
            "qemu+ssh://root@10.1.1.5/system?keyfile=%2Fk",
            "10.1.1.5",
        ),
        ("qemu+libssh://10.1.1.5/system", "qemu+libssh://root@10.1.1.5/system", "10.1.1.5"),
        ("qemu+unix://localhost/system", "qemu+unix:///system", "localhost"),
        (
            "qemu+unix:///system?socket=/run/x.sock",
            "qemu+unix:///system?socket=%2Frun%2Fx.sock",
            "localhost",
        ),
        ("qemu://10.1.1.5/system", "qemu+tls://10.1.1.5/system", "10.1.1.5"),
        ("http://[fd00::5]", "qemu+tcp://[fd00::5]/system", "fd00::5"),
        ("test:///default", "test:///default", "localhost"),
    ],
)
def test_the_url_decides_the_libvirt_uri(url: str, uri: str, address: str) -> None:
    options = _options(url)
    assert (options.uri, options.address) == (uri, address)
    assert "secret-password" not in options.uri  # a password never rides in a URI


def test_host_options_are_removed_from_the_uri_and_read() -> None:
    options = _options(
        "qemu+tcp://10.1.1.5/system?kvm.domain.type=qemu&network.bridge.type=openvswitch"
        "&public.network.device=pub0&private.network.device=priv0&no_verify=1"
    )
    assert options.uri == "qemu+tcp://10.1.1.5/system?no_verify=1"
    assert (options.domain_type, options.bridge_type, options.openvswitch) == (
        "qemu",
        "openvswitch",
        True,
    )
    # Without guest.network.device, guest traffic uses the private bridge (4.1's rule).
    assert (options.public_bridge, options.private_bridge, options.guest_bridge) == (
        "pub0",
        "priv0",
        "priv0",
    )


def test_defaults_are_the_seeds_bridges_and_detected_acceleration() -> None:
    options = _options("http://10.1.1.5")
    assert (options.public_bridge, options.private_bridge, options.guest_bridge) == (
        "cloudbr0",
        "cloudbr1",
        "cloudbr1",
    )
    assert options.domain_type is None and options.bridge_type == "native"


def test_details_give_options_and_the_url_wins() -> None:
    options = _options(
        "http://10.1.1.5?kvm.domain.type=kvm",
        **{"kvm.domain.type": "qemu", "guest.network.device": "guest0"},
    )
    assert (options.domain_type, options.guest_bridge) == ("kvm", "guest0")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("ftp://10.1.1.5", "neither http"),
        ("http://10.1.1.5?libvirt.transport=carrier-pigeon", "libvirt.transport"),
        ("qemu+pigeon://10.1.1.5/system", "transport"),
        ("qemu+tcp:///system", "names no host"),
        ("http://10.1.1.5?kvm.domain.type=xen", "kvm.domain.type"),
        ("http://10.1.1.5?network.bridge.type=macvtap", "network.bridge.type"),
        ("http://10.1.1.5?public.network.device=a/b", "public.network.device"),
        ("http://10.1.1.5:99999", "invalid port"),
    ],
)
def test_bad_urls_and_options_are_refused_naming_them(url: str, message: str) -> None:
    with pytest.raises(HostUrlError, match=message) as refused:
        _options(url)
    assert isinstance(refused.value, OperationFailed)
