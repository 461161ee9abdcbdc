"""Request signatures: 4.1's canonical string, and the variants of real clients.

The client side is the clients' own code wherever it can run here: ``cs`` 5.2.0 signs
and sends through its real ``CloudStack`` class (its HTTP session is routed into the
falcon test client), Libcloud 3.9.1 through ``CloudStackConnection``'s own signing, and
cloudmonkey 5.3.3's algorithm runs under Python 2.7 (its only interpreter) when one is
installed. Every variant must be accepted; forged, altered, expired, wrong-key and
incomplete requests get 401 with 4.1's exact text.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import shutil
import subprocess
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit

import falcon.testing
import pytest
import requests
from cs import CloudStack, CloudStackApiException
from libcloud.common.cloudstack import CloudStackConnection

from cumulo_api import signing

UNABLE = "unable to verify user credentials and/or request signature"
SECRET = "Zx9-_secret"

# Values where the clients depart from Java: ~ (cs, Libcloud), [ ] (Libcloud).
AWKWARD = {"name": "a b~c*", "keyword": "x[0]~y", "description": "é/ü+&="}


# ---- the canonical string itself -------------------------------------------------------


def test_java_url_encoding_rules() -> None:
    # URLEncoder keeps a-z A-Z 0-9 . - * _ ; space -> + -> %20; upper-case hex of UTF-8.
    assert signing.java_url_encode("aZ09.-*_") == "aZ09.-*_"
    assert signing.java_url_encode("a b") == "a%20b"
    assert signing.java_url_encode("~[]/:+=&") == "%7E%5B%5D%2F%3A%2B%3D%26"
    assert signing.java_url_encode("é") == "%C3%A9"
    raw = signing.Variant(raw_tilde=True, raw_brackets=True)
    assert signing.java_url_encode("~[]", raw) == "~[]"


def test_canonical_string_sorts_original_names_by_utf16_then_lowercases() -> None:
    params = [
        ("displayname", "B"),
        ("displayText", "A"),
        ("command", "listZones"),
        ("signature", "ignored"),
        ("displayText", "second value ignored"),
    ]
    # Java: "displayText" < "displayname" ('T' < 'n'); signature left out; first value.
    assert signing.canonical_string(params) == ("command=listzones&displaytext=a&displayname=b")
    lower = signing.Variant(lower_sort=True)
    assert signing.canonical_string(params, lower) == (
        "command=listzones&displayname=b&displaytext=a"
    )
    # UTF-16 code units: U+FF21 (BMP) sorts after U+1D400 (surrogate pair 0xD835...).
    assert signing.canonical_string([("\uff21", "1"), ("\U0001d400", "2")]).startswith("\U0001d400")


def test_signature_vector_from_the_4_1_docs_algorithm() -> None:
    # CS41:docs/en-US/signing-api-calls-python.xml walks through this request.
    params = [
        (
            "apikey",
            "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg",
        ),
        ("command", "listUsers"),
        ("response", "json"),
    ]
    secret = (
        "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ"
    )
    assert signing.sign(params, secret) == "TTpdDq/7j/J58XCRHomKoQXEQds="


def test_every_variant_is_accepted_and_java_is_tried_first() -> None:
    params = [("command", "listZones"), ("displayText", "a~[b]"), ("displayname", "x")]
    for variant in signing.VARIANTS:
        text = signing.canonical_string(params, variant)
        assert signing.signature_matches(params, SECRET, signing.hmac_sha1_b64(text, SECRET))
    assert signing.VARIANTS[0] == signing.JAVA
    assert not signing.signature_matches(params, SECRET, "AAAA")
    assert not signing.signature_matches(params, "other", signing.sign(params, SECRET))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-05-28T10:00:00+0000", dt.datetime(2013, 5, 28, 10, tzinfo=dt.UTC)),
        ("2011-10-10T12:00:00+0530", dt.datetime(2011, 10, 10, 6, 30, tzinfo=dt.UTC)),
        ("2011-10-10T12:00:00-0700", dt.datetime(2011, 10, 10, 19, tzinfo=dt.UTC)),
        ("2011-10-10T12:00:00+05:30", dt.datetime(2011, 10, 10, 6, 30, tzinfo=dt.UTC)),
        ("2011-10-10T12:00:00Z", dt.datetime(2011, 10, 10, 12, tzinfo=dt.UTC)),
        ("2011-10-10T12:00:00GMT+01:00", dt.datetime(2011, 10, 10, 11, tzinfo=dt.UTC)),
        ("2011-10-10T12:00:00", None),
        ("2011-10-10 12:00:00+0000", None),
        ("2011-13-10T12:00:00+0000", None),
        ("tomorrow", None),
    ],
)
def test_parse_expires(text: str, expected: dt.datetime | None) -> None:
    assert signing.parse_expires(text) == expected


def test_expiry_rule_applies_to_signature_version_3_only() -> None:
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    past, future = "2026-01-01T11:59:59+0000", "2026-01-01T12:00:00+0000"
    assert signing.expiry_ok([("signatureVersion", "3"), ("expires", future)], now)
    assert not signing.expiry_ok([("signatureversion", "3"), ("Expires", past)], now)
    assert not signing.expiry_ok([("signatureVersion", "3")], now)  # expires required
    assert not signing.expiry_ok([("signatureVersion", "3"), ("expires", "junk")], now)
    # Any other version (or none) ignores expires entirely, even an unreadable one.
    assert signing.expiry_ok([("signatureVersion", "2"), ("expires", past)], now)
    assert signing.expiry_ok([("signatureVersion", "3.0"), ("expires", "junk")], now)
    assert signing.expiry_ok([("expires", past)], now)


# ---- over the API, with the real clients ------------------------------------------------


class FalconSession(requests.Session):
    """A requests session that hands prepared requests to a falcon test client, so an
    unmodified client library talks to the app without a socket."""

    def __init__(self, client: falcon.testing.TestClient) -> None:
        super().__init__()
        self.client = client
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        url = urlsplit(request.url or "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        result = self.client.simulate_request(
            request.method or "GET",
            url.path,
            query_string=url.query,
            body=body,
            headers=dict(request.headers),
        )
        response = requests.Response()
        response.status_code = result.status_code
        response._content = result.content
        response.headers = requests.structures.CaseInsensitiveDict(result.headers)
        response.url = request.url or ""
        response.request = request
        return response


def _cs(api: falcon.testing.TestClient, keys: tuple[str, str], **kw: Any) -> CloudStack:
    return CloudStack(
        "http://localhost:8080/client/api",
        key=keys[0],
        secret=keys[1],
        session=FalconSession(api),
        **kw,
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_cs_client_with_its_raw_tilde_and_signature_version_3(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str], method: str
) -> None:
    client = _cs(api, admin_keys, method=method)
    answer = client.listCapabilities(**AWKWARD)
    assert answer["capability"]["cloudstackversion"]
    sent = client.session.sent[-1]
    wire = parse_qsl(urlsplit(sent.url).query, keep_blank_values=True)
    if method == "post":
        wire += parse_qsl(sent.body, keep_blank_values=True)
    names = {name for name, _ in wire}
    assert {"signatureVersion", "expires", "apiKey", "signature"} <= names
    # cs signed with ~ left raw: 4.1's Java canonical string alone would refuse it.
    received = dict(wire)["signature"]
    assert received != signing.sign(wire, admin_keys[1])


def test_cs_client_refused_with_a_wrong_secret_or_after_expiry(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    with pytest.raises(CloudStackApiException) as wrong:
        _cs(api, (admin_keys[0], "not-the-secret")).listCapabilities()
    assert wrong.value.error["errortext"] == UNABLE
    assert wrong.value.response.status_code == 401
    # cs only writes expires itself when none is given: give one in the past.
    expired = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S%z")
    with pytest.raises(CloudStackApiException) as late:
        _cs(api, admin_keys).listCapabilities(signatureVersion="3", expires=expired)
    assert late.value.response.status_code == 401
    assert late.value.error["errortext"] == UNABLE


def _libcloud_params(keys: tuple[str, str], command: str, **params: str) -> dict[str, str]:
    factory: Any = CloudStackConnection  # Libcloud ships no type hints
    connection = factory(keys[0], keys[1])
    wire = connection.add_default_params({"command": command, **params})
    signed, _ = connection.pre_connect_hook(wire, {})
    # Libcloud hands the signature to requests as bytes, which sends them as they are.
    return {
        name: value.decode() if isinstance(value, bytes) else str(value)
        for name, value in signed.items()
    }


def test_libcloud_lower_case_order_and_raw_tilde_brackets(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    # displayText/displayname: Java's order and Libcloud's lower-cased order differ.
    params = _libcloud_params(
        admin_keys, "listCapabilities", displayText="a~[b]", displayname="z", **AWKWARD
    )
    assert params["signature"] != signing.sign(list(params.items()), admin_keys[1])
    result = api.simulate_get("/client/api", query_string=urlencode(params, quote_via=quote))
    assert result.status_code == 200, result.text
    assert "listcapabilitiesresponse" in result.json


def _python2() -> str | None:
    candidates = [shutil.which("python2.7"), shutil.which("python2")]
    candidates += sorted(glob.glob("/root/.pyenv/versions/2.7*/bin/python2.7"))
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run([candidate, "-c", "print 1"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


# cloudmonkey 5.3.3 requester.py signing, as clients.md records it (Python 2 only).
CLOUDMONKEY_SIGN = r"""
import base64, hashlib, hmac, json, sys, urllib
args, secret = json.loads(sys.stdin.read())
args = dict((str(k), str(v)) for k, v in args.items())
request = zip(args.keys(), args.values())
request.sort(key=lambda x: x[0].lower())
hash_str = "&".join(["=".join([r[0].lower(), urllib.quote_plus(str(r[1]), safe="*").lower()
                     .replace("+", "%20").replace("%3A", ":")]) for r in request])
print base64.encodestring(hmac.new(str(secret), hash_str, hashlib.sha1).digest()).strip()
"""


def _cloudmonkey_signature(args: dict[str, str], secret: str) -> str:
    python2 = _python2()
    if python2 is None:
        # Python 2's quote_plus escapes ~ (unlike Python 3's); nothing else differs.
        text = "&".join(
            f"{k.lower()}={quote_plus(v, safe='*').replace('~', '%7E').lower()}".replace("+", "%20")
            for k, v in sorted(args.items(), key=lambda item: item[0].lower())
        )
        return signing.hmac_sha1_b64(text, secret)
    done = subprocess.run(
        [python2, "-c", CLOUDMONKEY_SIGN],
        input=json.dumps([args, secret]),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_cloudmonkey_lower_case_keys_and_signature_version(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%S+0000"
    )
    args = {
        "command": "listCapabilities",
        "response": "json",
        "signatureversion": "3",  # cloudmonkey's lower-case key
        "expires": expires,
        "apiKey": admin_keys[0],
        "name": "a b~c*",
        "displayText": "q",
        "displayname": "r",
    }
    args["signature"] = _cloudmonkey_signature(args, admin_keys[1])
    # Its lower-cased order puts displayname before displayText, unlike Java.
    assert args["signature"] != signing.sign(list(args.items()), admin_keys[1])
    result = api.simulate_get("/client/api", query_string=urlencode(args, quote_via=quote))
    assert result.status_code == 200, result.text


# ---- refusals ----------------------------------------------------------------------------


def _signed(keys: tuple[str, str], **params: str) -> dict[str, str]:
    wire = {"command": "listCapabilities", "response": "json", "apiKey": keys[0], **params}
    wire["signature"] = signing.sign(list(wire.items()), keys[1])
    return wire


def _send(api: falcon.testing.TestClient, params: dict[str, str]) -> falcon.testing.Result:
    return api.simulate_get("/client/api", query_string=urlencode(params, quote_via=quote))


def _refused(result: falcon.testing.Result) -> None:
    assert result.status_code == 401
    # In the command's envelope (4.1's getSerializedApiError), without cserrorcode.
    assert result.json == {"listcapabilitiesresponse": {"errorcode": 401, "errortext": UNABLE}}


def test_java_canonical_signature_is_accepted(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    assert _send(api, _signed(admin_keys, **AWKWARD)).status_code == 200
    # Names are matched case-insensitively for the four signing parameters only.
    wire = {"command": "listCapabilities", "response": "json", "APIKEY": admin_keys[0]}
    wire["SIGNATURE"] = signing.sign(list(wire.items()), admin_keys[1])
    assert _send(api, wire).status_code == 200


def test_forged_altered_wrong_key_and_incomplete_requests_get_401(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    good = _signed(admin_keys, name="original")
    forged = {**good, "signature": "bm90IGEgc2lnbmF0dXJl"}
    altered = {**good, "name": "changed"}  # a parameter changed after signing
    added = {**good, "extra": "1"}  # a parameter added after signing
    wrong_key = _signed(("x" * 86, admin_keys[1]))
    wrong_secret = {**good, "signature": signing.sign(list(good.items()), "guess")}
    missing_signature = {k: v for k, v in good.items() if k != "signature"}
    missing_key = {k: v for k, v in good.items() if k != "apiKey"}
    for params in (forged, altered, added, wrong_key, wrong_secret, missing_signature):
        _refused(_send(api, params))
    _refused(_send(api, missing_key))


def test_signature_version_3_expiry(
    api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    now = dt.datetime.now(dt.UTC)
    past = (now - dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    future = (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert _send(api, _signed(admin_keys, signatureVersion="3", expires=future)).status_code == 200
    _refused(_send(api, _signed(admin_keys, signatureVersion="3", expires=past)))
    _refused(_send(api, _signed(admin_keys, signatureVersion="3")))
    _refused(_send(api, _signed(admin_keys, signatureVersion="3", expires="2026-01-01")))
    # Without version 3 an expired (or garbage) expires is ignored, as in 4.1.
    assert _send(api, _signed(admin_keys, expires=past)).status_code == 200
    assert _send(api, _signed(admin_keys, signatureVersion="2", expires="x")).status_code == 200
