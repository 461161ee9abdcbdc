"""API keys (stored ENC()), server-side sessions (only hashes stored) and their purge.

Runs on the migrated database of ``db_session``: SQLite, and MariaDB in the second pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.accounts.models import User
from cumulo.auth import sessions
from cumulo.auth.identity import principal_by_api_key, principal_by_user_id
from cumulo.auth.keys import find_user_by_api_key, generate_key, register_user_keys
from cumulo.auth.keys import reveal_secret_key as reveal
from cumulo.db.base import utcnow
from cumulo.setup.seed import seed_cloud

DATABASE_KEY = "db-key-for-tests"
KEY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{86}$")


@pytest.fixture
def admin(db_session: Session) -> User:
    rows = seed_cloud(db_session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
    db_session.commit()
    user = db_session.get(User, rows.admin_user_id)
    assert user is not None
    return user


def test_generated_keys_have_cloudstacks_shape() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(KEY_SHAPE.match(key) for key in keys)


def test_register_user_keys_stores_the_secret_encrypted(db_session: Session, admin: User) -> None:
    api_key, secret_key = register_user_keys(db_session, admin, DATABASE_KEY)
    db_session.commit()
    assert KEY_SHAPE.match(api_key) and KEY_SHAPE.match(secret_key)
    stored = db_session.scalar(select(User.secret_key).where(User.id == admin.id))
    assert stored is not None and stored.startswith("ENC(") and secret_key not in stored
    inner = crypto.unwrap_enc(stored)
    assert inner is not None and crypto.decrypt(inner, DATABASE_KEY) == secret_key
    assert reveal(admin, DATABASE_KEY) == secret_key
    found = find_user_by_api_key(db_session, api_key)
    assert found is not None and found.id == admin.id
    # A second registration replaces the pair: the old API key no longer finds anyone.
    new_api_key, new_secret = register_user_keys(db_session, admin, DATABASE_KEY)
    db_session.commit()
    assert (new_api_key, new_secret) != (api_key, secret_key)
    assert find_user_by_api_key(db_session, api_key) is None
    assert reveal(admin, DATABASE_KEY) == new_secret


def test_keys_under_aes_and_without_database_key(db_session: Session, admin: User) -> None:
    aes = "PBEWITHHMACSHA512ANDAES_256"
    _, secret_key = register_user_keys(db_session, admin, DATABASE_KEY, aes)
    assert reveal(admin, DATABASE_KEY, aes) == secret_key
    # Encryption type "none": stored as it is, as CloudStack does.
    _, plain_secret = register_user_keys(db_session, admin, "")
    assert admin.secret_key == plain_secret
    assert reveal(admin, "") == plain_secret


def test_api_key_lookup_skips_removed_users_and_loads_the_caller(
    db_session: Session, admin: User
) -> None:
    api_key, _ = register_user_keys(db_session, admin, DATABASE_KEY)
    principal = principal_by_api_key(db_session, api_key)
    assert principal is not None and principal.enabled
    ctx = principal.context(session_id="s")
    assert (ctx.username, ctx.account_name, ctx.domain_path) == ("admin", "admin", "/")
    assert (ctx.account_type, ctx.session_id, ctx.is_root_admin) == (1, "s", True)
    assert find_user_by_api_key(db_session, "") is None
    assert find_user_by_api_key(db_session, "unknown") is None
    admin.removed = utcnow()
    db_session.flush()
    assert find_user_by_api_key(db_session, api_key) is None
    assert principal_by_user_id(db_session, admin.id) is None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_sessions_store_only_hashes_and_slide(db_session: Session, admin: User) -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    opened = sessions.create_session(db_session, admin.id, now)
    db_session.commit()
    raw = db_session.execute(select(sessions.ApiSession.__table__)).one()._asdict()
    # Neither the cookie nor the session key is stored; only their SHA-256.
    assert opened.cookie not in raw.values() and opened.session_key not in raw.values()
    assert raw["id"] == _digest(opened.cookie)
    assert raw["session_key_hash"] == _digest(opened.session_key)
    assert len(opened.cookie) >= 40  # 32 random bytes
    assert len(opened.session_key) == 28  # base64 of 20 bytes, as 4.1

    row = sessions.find_session(db_session, opened.cookie, now)
    assert row is not None and row.user_id == admin.id
    assert sessions.session_key_matches(row, opened.session_key)
    assert not sessions.session_key_matches(row, opened.session_key + "x")
    assert not sessions.session_key_matches(row, None)
    assert sessions.find_session(db_session, "not-a-cookie", now) is None
    assert sessions.find_session(db_session, None, now) is None

    # Used within the first minute: no write; later: the expiry moves.
    sessions.touch(db_session, row, now + dt.timedelta(seconds=30))
    assert row.expires == now + dt.timedelta(seconds=1800)
    later = now + dt.timedelta(seconds=1700)
    sessions.touch(db_session, row, later)
    assert row.expires == later + dt.timedelta(seconds=1800)
    db_session.commit()
    assert sessions.find_session(db_session, opened.cookie, now + dt.timedelta(seconds=3000))
    assert sessions.find_session(db_session, opened.cookie, later + dt.timedelta(1)) is None


def test_invalidate_end_user_sessions_and_purge(db_session: Session, admin: User) -> None:
    now = utcnow()
    first = sessions.create_session(db_session, admin.id, now)
    second = sessions.create_session(db_session, admin.id, now)
    old = sessions.create_session(db_session, admin.id, now - dt.timedelta(hours=2))
    db_session.commit()
    row = sessions.find_session(db_session, first.cookie, now)
    assert row is not None
    sessions.invalidate(db_session, row)
    db_session.commit()
    assert sessions.find_session(db_session, first.cookie, now) is None
    assert sessions.find_session(db_session, second.cookie, now) is not None

    assert sessions.purge_expired(db_session, now) == 1  # only the two-hour-old one
    db_session.commit()
    remaining = db_session.scalar(select(func.count()).select_from(sessions.ApiSession))
    assert remaining == 1
    assert sessions.find_session(db_session, old.cookie, now - dt.timedelta(hours=2)) is None
    assert sessions.end_user_sessions(db_session, admin.id) == 1
    db_session.commit()
    assert sessions.find_session(db_session, second.cookie, now) is None
