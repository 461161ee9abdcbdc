"""The initial rows of a cloud (cumulo.setup.seed) and CloudStack 4.1 password hashing.

Runs on the migrated database of ``db_session``, so it runs on SQLite and, in CI's
second pass, on MariaDB: the seed must produce the same ids and rows on both.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.config.models import Configuration
from cumulo.setup.errors import SetupError
from cumulo.setup.passwords import encode_md5, matches_md5, unusable_password
from cumulo.setup.seed import SSO_KEY, check_database_key, seed_cloud

DATABASE_KEY = "db-key-for-tests"
# The stored form of "password" CloudStack 4.1 ships (developer-prefill.sql and the
# api-reference): the seeded admin must log in with exactly this row.
CLOUDSTACK_MD5_OF_PASSWORD = "5f4dcc3b5aa765d61d8327deb882cf99"


def _seeded(session: Session, algorithm: str = crypto.DEFAULT_ALGORITHM) -> None:
    seed_cloud(session, DATABASE_KEY, algorithm)
    session.commit()


def test_seed_creates_root_domain_system_and_admin(db_session: Session) -> None:
    rows = seed_cloud(db_session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
    db_session.commit()

    root = db_session.scalars(select(Domain)).one()
    assert (root.id, root.name, root.path, root.level, root.parent) == (
        rows.root_domain_id,
        "ROOT",
        "/",
        0,
        None,
    )
    accounts = {a.account_name: a for a in db_session.scalars(select(Account))}
    assert set(accounts) == {"system", "admin"}
    # CloudStack code and clients rely on the system account and user being id 1.
    assert accounts["system"].id == 1
    for account in accounts.values():
        assert account.type == int(AccountType.ADMIN) == 1
        assert account.domain_id == root.id
        assert account.state == "enabled"
    assert root.owner == accounts["admin"].id

    users = {u.username: u for u in db_session.scalars(select(User))}
    assert set(users) == {"system", "admin"}
    assert users["system"].id == 1
    assert users["system"].account_id == accounts["system"].id
    assert users["admin"].account_id == accounts["admin"].id
    assert users["admin"].password == CLOUDSTACK_MD5_OF_PASSWORD
    assert (users["admin"].firstname, users["admin"].lastname) == ("admin", "cloud")
    assert users["admin"].state == "enabled"
    # Nobody gets API keys from the seed: credentials are created by their owner.
    assert all(u.api_key is None and u.secret_key is None for u in users.values())


def test_system_user_password_matches_nothing(db_session: Session) -> None:
    _seeded(db_session)
    stored = db_session.scalar(select(User.password).where(User.username == "system"))
    assert stored is not None
    for guess in ("", "password", "system", stored):
        assert not matches_md5(guess, stored)


@pytest.mark.parametrize("algorithm", crypto.ALGORITHMS)
def test_sso_key_is_stored_encrypted_with_the_database_key(
    db_session: Session, algorithm: str
) -> None:
    _seeded(db_session, algorithm)
    row = db_session.get(Configuration, SSO_KEY)
    assert row is not None and row.category == "Secure"
    inner = crypto.unwrap_enc(row.value or "")
    assert inner is not None, "the SSO key must be stored as ENC(...)"
    key = base64.b64decode(crypto.decrypt(inner, DATABASE_KEY, algorithm), validate=True)
    assert len(key) == 64


@pytest.mark.parametrize("algorithm", crypto.ALGORITHMS)
def test_database_key_check_accepts_the_right_key_only(db_session: Session, algorithm: str) -> None:
    _seeded(db_session, algorithm)
    check_database_key(db_session, DATABASE_KEY, algorithm)
    for wrong in ("db-key-for-test", "password", DATABASE_KEY.upper()):
        with pytest.raises(SetupError, match=r"\(-k\) does not decrypt") as raised:
            check_database_key(db_session, wrong, algorithm)
        assert wrong not in str(raised.value)


def test_database_key_check_needs_a_seeded_database(db_session: Session) -> None:
    with pytest.raises(SetupError, match="not set up by"):
        check_database_key(db_session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)


def test_seed_refuses_a_seeded_database_and_adds_nothing(db_session: Session) -> None:
    _seeded(db_session)
    with pytest.raises(SetupError, match="already holds domains"):
        seed_cloud(db_session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(User)) == 2


# ---- passwords ----------------------------------------------------------------------


def test_md5_is_cloudstacks_stored_form() -> None:
    assert encode_md5("password") == CLOUDSTACK_MD5_OF_PASSWORD
    # Java's getBytes() on CloudStack's platforms is UTF-8: non-ASCII hashes its bytes.
    assert encode_md5("pässwörd") == hashlib.md5("pässwörd".encode()).hexdigest()
    assert encode_md5("pässwörd") != hashlib.md5("pässwörd".encode("latin-1")).hexdigest()
    assert all(len(encode_md5(text)) == 32 for text in ("", "a", "x" * 1000))


def test_md5_match_is_case_insensitive_and_exact() -> None:
    assert matches_md5("password", CLOUDSTACK_MD5_OF_PASSWORD.upper())
    assert matches_md5("password", f" {CLOUDSTACK_MD5_OF_PASSWORD}\n")
    assert not matches_md5("Password", CLOUDSTACK_MD5_OF_PASSWORD)
    assert not matches_md5("password ", CLOUDSTACK_MD5_OF_PASSWORD)


def test_unusable_passwords_are_distinct_and_never_an_md5() -> None:
    values = {unusable_password() for _ in range(20)}
    assert len(values) == 20
    assert all(len(value) != 32 for value in values)
