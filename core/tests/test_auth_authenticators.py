"""The built-in password authenticators: stored formats, known vectors, refusals."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cumulo.auth.authenticators import (
    PBKDF2_ITERATIONS,
    Md5Authenticator,
    Pbkdf2Authenticator,
    PlainTextAuthenticator,
    Sha256SaltAuthenticator,
    looks_hashed,
)
from cumulo.drivers import load_drivers
from cumulo.sdk.auth import UserAuthenticator


def test_md5_known_vector_and_case_insensitive_comparison() -> None:
    md5 = Md5Authenticator()
    # api-reference.md §b and CS41:developer/developer-prefill.sql:38
    assert md5.encode("password") == "5f4dcc3b5aa765d61d8327deb882cf99"
    assert md5.authenticate("admin", "password", "5f4dcc3b5aa765d61d8327deb882cf99")
    assert md5.authenticate("admin", "password", "5F4DCC3B5AA765D61D8327DEB882CF99")
    assert not md5.authenticate("admin", "Password", "5f4dcc3b5aa765d61d8327deb882cf99")
    # Java's getBytes() is UTF-8 on CloudStack's platforms.
    assert md5.encode("pässwörd") == hashlib.md5("pässwörd".encode()).hexdigest()


def test_sha256salt_matches_cloudstack_format() -> None:
    # SHA256SaltedUserAuthenticator: base64(salt) ":" base64(sha256(utf8(pw) + salt)).
    salt = bytes(range(20))
    expected_hash = base64.b64encode(hashlib.sha256(b"password" + salt).digest()).decode()
    stored = f"{base64.b64encode(salt).decode()}:{expected_hash}"
    assert stored == "AAECAwQFBgcICQoLDA0ODxAREhM=:" + expected_hash
    sha = Sha256SaltAuthenticator()
    assert sha.authenticate("u", "password", stored)
    assert not sha.authenticate("u", "passwore", stored)
    fresh = sha.encode("s3cret")
    salt_b64, digest_b64 = fresh.split(":")
    assert len(base64.b64decode(salt_b64)) == 20
    assert len(base64.b64decode(digest_b64)) == 32
    assert sha.authenticate("u", "s3cret", fresh)
    assert fresh != sha.encode("s3cret")  # a fresh salt every time


def test_pbkdf2_format_vector_and_rehash_rule() -> None:
    pbkdf2 = Pbkdf2Authenticator()
    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", b"password", salt, 1000)
    stored = "pbkdf2_sha256$1000$" + base64.b64encode(salt).decode() + "$"
    stored += base64.b64encode(digest).decode()
    assert pbkdf2.authenticate("u", "password", stored)
    assert not pbkdf2.authenticate("u", "password1", stored)
    # Fewer iterations than the current default: re-encode at the next login.
    assert pbkdf2.needs_rehash(stored)
    fresh = pbkdf2.encode("password")
    prefix, iterations, salt_b64, hash_b64 = fresh.split("$")
    assert (prefix, int(iterations)) == ("pbkdf2_sha256", PBKDF2_ITERATIONS)
    assert len(base64.b64decode(salt_b64)) == 16 and len(base64.b64decode(hash_b64)) == 32
    assert pbkdf2.authenticate("u", "password", fresh)
    assert not pbkdf2.needs_rehash(fresh)


def test_pbkdf2_stores_and_checks_its_work_factor() -> None:
    # The cost of a check (~85 ms of CPU on the reference box) is set by the iteration
    # count; a timing belongs in a benchmark, so the test pins the count instead.
    pbkdf2 = Pbkdf2Authenticator()
    stored = pbkdf2.encode("password")
    scheme, iterations, _salt, _hash = stored.split("$")
    assert (scheme, int(iterations)) == ("pbkdf2_sha256", PBKDF2_ITERATIONS)
    assert PBKDF2_ITERATIONS >= 500_000
    assert pbkdf2.authenticate("u", "password", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "pbkdf2_sha256$abc$AAAA$AAAA",
        "pbkdf2_sha256$99999999999$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",  # absurd cost refused
        "pbkdf2_sha256$1000$not base64!$AAAA",
        "a:b:c",
        "%%%:AAAA",
        "zz4dcc3b5aa765d61d8327deb882cf99",
    ],
)
def test_malformed_stored_values_never_match_or_raise(stored: str) -> None:
    for authenticator in (Pbkdf2Authenticator(), Sha256SaltAuthenticator(), Md5Authenticator()):
        assert authenticator.authenticate("u", "password", stored) is False


def test_plaintext_refuses_the_hash_itself_as_password() -> None:
    plain = PlainTextAuthenticator()
    assert plain.authenticate("u", "hunter2", "hunter2")
    assert not plain.authenticate("u", "hunter3", "hunter2")
    # 4.1's pass-the-hash: the stored MD5 sent as the password matched PlainText.
    md5 = Md5Authenticator().encode("password")
    assert not plain.authenticate("u", md5, md5)
    sha = Sha256SaltAuthenticator().encode("password")
    assert not plain.authenticate("u", sha, sha)
    assert looks_hashed(md5) and looks_hashed(sha) and not looks_hashed("hunter2")


def test_drivers_load_by_name_from_entry_points() -> None:
    names = ["PBKDF2", "SHA256SALT", "MD5", "PLAINTEXT"]
    loaded = load_drivers("cumulo.authenticators", names)
    assert list(loaded) == names
    for name, cls in loaded.items():
        assert issubclass(cls, UserAuthenticator)
        assert cls.name == name


def test_base_contract_defaults() -> None:
    class Directory(UserAuthenticator):
        name = "DIRECTORY"
        stores_password = False

        def authenticate(self, username: str, password: str, stored: str) -> bool:
            return username == "alice" and password == "wonderland"

    directory = Directory()
    assert directory.encode("x") is None
    assert directory.needs_rehash("anything") is False
    assert directory.authenticate("alice", "wonderland", "stub")
    with pytest.raises(NotImplementedError):
        UserAuthenticator().authenticate("u", "p", "s")
