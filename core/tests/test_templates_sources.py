"""Template sources: the address policy (``secstorage.allowed.internal.sites``), URL
checks, checksums, and the SDK's pinned fetch against a real HTTP server."""

from __future__ import annotations

import io
import ipaddress

import pytest

from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.storage import StorageOperationFailed, TemplateSource, fetch_url
from cumulo.templates.sources import (
    AddressPolicy,
    check_source_url,
    checksum_mismatch,
    parse_checksum,
    template_file_name,
)
from cumulo.templates.testing import TemplateServer, md5_of

ADDRESS = ipaddress.ip_address


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.66", "169.254.169.254", "::1",
     "fe80::1", "fd00::1", "0.0.0.0", "100.64.0.1", "224.0.0.1"],
)  # fmt: skip
def test_internal_addresses_refused_by_default(address: str) -> None:
    assert not AddressPolicy.parse(None)(ADDRESS(address))


def test_public_addresses_allowed_and_allowed_sites_open_internal_ones() -> None:
    policy = AddressPolicy.parse("192.168.1.66/32, 10.0.0.0/8")
    assert AddressPolicy.parse("")(ADDRESS("93.184.216.34"))
    assert policy(ADDRESS("192.168.1.66")) and policy(ADDRESS("10.9.9.9"))
    assert not policy(ADDRESS("192.168.1.67")) and not policy(ADDRESS("127.0.0.1"))


def test_url_checks() -> None:
    allow_all = AddressPolicy.parse("0.0.0.0/0")
    for url, fragment in (
        ("ftp://h/t.qcow2", "http://"),
        ("file:///etc/passwd", "http://"),
        ("http:///t.qcow2", "host"),
        ("http://h/t.vhd", "QCOW2"),
    ):
        with pytest.raises(InvalidParameterValue, match=fragment) as raised:
            check_source_url(url, "QCOW2", allow_all, resolve=False)
        assert str(raised.value).startswith("url:")
    for good in ("http://h/t.qcow2", "https://h/a/T.QCOW2.bz2", "http://h/t.qcow2.gz"):
        assert check_source_url(f" {good} ", "QCOW2", allow_all, resolve=False) == good
    with pytest.raises(InvalidParameterValue, match=r"internal address 127.0.0.1"):
        check_source_url("http://127.0.0.1/t.qcow2", "QCOW2", AddressPolicy())
    with pytest.raises(InvalidParameterValue, match="cannot resolve"):
        check_source_url("http://no-such-host.invalid/t.qcow2", "QCOW2", AddressPolicy())
    assert check_source_url("http://127.0.0.1/t.iso", "ISO", AddressPolicy.parse("127.0.0.0/8"))


def test_checksums() -> None:
    md5 = "D41D8CD98F00B204E9800998ECF8427E"
    assert parse_checksum(md5) == md5.lower()
    assert parse_checksum("{MD5}" + md5) == "{MD5}" + md5.lower()
    assert parse_checksum("{sha-256}" + "a" * 64) == "{SHA-256}" + "a" * 64
    assert parse_checksum("") is None and parse_checksum(None) is None
    for bad in ("xyz", "a" * 31, "{MD5}" + "a" * 64, "{CRC}abcd"):
        with pytest.raises(InvalidParameterValue, match=r"^checksum:"):
            parse_checksum(bad)
    digests = {"md5": md5.lower(), "sha256": "b" * 64}
    assert checksum_mismatch(md5.lower(), digests) is None
    assert checksum_mismatch("{SHA-256}" + "b" * 64, digests) is None
    assert "mismatch" in (checksum_mismatch("c" * 64, digests) or "")
    assert checksum_mismatch(md5, {}) is None  # a simulated store cannot be verified
    assert template_file_name("u", "QCOW2", "http://h/x.qcow2.bz2") == "u.qcow2.bz2"


def test_fetch_streams_hashes_and_reports_progress() -> None:
    data = bytes(range(256)) * 9000
    seen: list[tuple[int, int | None]] = []
    allowed = AddressPolicy.parse("127.0.0.0/8")
    with TemplateServer({"/t.qcow2": data}) as server:
        sink = io.BytesIO()
        source = TemplateSource(server.url("/t.qcow2"), allowed, lambda d, t: seen.append((d, t)))
        result = fetch_url(source.url, sink, source)
        with pytest.raises(StorageOperationFailed, match="HTTP 404"):
            fetch_url(server.url("/nope"), io.BytesIO(), source)
        with pytest.raises(StorageOperationFailed, match="internal address"):
            fetch_url(server.url("/t.qcow2"), io.BytesIO(), TemplateSource(server.url("/")))
    assert sink.getvalue() == data and result.size_bytes == len(data)
    assert result.digests["md5"] == md5_of(data)
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))


def test_redirects_are_rechecked_hop_by_hop() -> None:
    """A public-looking first hop cannot bounce the download to an internal address:
    each Location is resolved and checked again (here the second hop is refused)."""
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://10.255.255.1/t.qcow2")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/t.qcow2"
        with pytest.raises(StorageOperationFailed, match=r"internal address 10.255.255.1"):
            fetch_url(url, io.BytesIO(), TemplateSource(url, AddressPolicy.parse("127.0.0.0/8")))
    finally:
        server.shutdown()
        server.server_close()
