"""The rows a new cloud starts with, as CloudStack 4.1 seeds them.

- the ROOT domain: name ``ROOT``, path ``/``, level 0, owned by the ``admin`` account;
- the ``system`` account (type admin, id 1) and its ``system`` user (id 1), which act
  for the management server itself and can never log in;
- the ``admin`` account (type admin, in ROOT) and its ``admin`` user, password
  ``password`` stored as CloudStack's MD5 (the operator is told to change it);
- ``security.singlesignon.key``: a random single-sign-on key, stored in the
  ``configuration`` table encrypted with the database key as CloudStack keeps its
  ``Secure`` settings. Besides serving SSO logins later, it is the proof an additional
  management server runs: if its ``-k`` decrypts this value, it is the database key
  the first server used (:func:`check_database_key`, REQ-INST-07).

Ids are not given explicitly (a PostgreSQL sequence would not advance past them);
on a fresh database the rows get 1 and 2 in insertion order, which is checked, because
CloudStack code and clients assume the system account and user have id 1.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import (
    Account,
    AccountState,
    AccountType,
    Domain,
    DomainState,
    User,
    UserState,
)
from cumulo.config.models import Configuration
from cumulo.crypto import CryptoError, decrypt, encrypt, unwrap_enc, wrap_enc
from cumulo.setup.errors import SetupError
from cumulo.setup.passwords import DEFAULT_ADMIN_PASSWORD, encode_md5, unusable_password

ROOT_DOMAIN = "ROOT"
SYSTEM = "system"
ADMIN = "admin"
SYSTEM_ACCOUNT_ID = 1
SYSTEM_USER_ID = 1

SSO_KEY = "security.singlesignon.key"
_SSO_DESCRIPTION = "A Single Sign-On key used for authenticating a user"


@dataclass(frozen=True)
class SeededRows:
    """Internal ids of the seeded rows."""

    root_domain_id: int
    system_account_id: int
    system_user_id: int
    admin_account_id: int
    admin_user_id: int


def seed_cloud(session: Session, database_key: str, algorithm: str) -> SeededRows:
    """Insert the initial rows into a freshly migrated, empty ``cloud`` database.

    Flushes but does not commit: the caller commits (or rolls back) the whole seed as
    one transaction.

    :param database_key: the ``-k`` key that encrypts secrets stored in tables.
    :param algorithm: the jasypt algorithm of those secrets.
    :raises SetupError: the database already holds a domain, or the rows did not get
        the ids CloudStack relies on.
    """
    if session.scalar(select(func.count()).select_from(Domain)):
        raise SetupError("the cloud database already holds domains; it was seeded before")
    # ``owner`` is set once the admin account exists; 0 stands in for the instant between.
    root = Domain(
        name=ROOT_DOMAIN, parent=None, path="/", level=0, owner=0, state=DomainState.ACTIVE.value
    )
    session.add(root)
    session.flush()
    system = _account(SYSTEM, root.id)
    session.add(system)
    session.flush()
    admin = _account(ADMIN, root.id)
    session.add(admin)
    session.flush()
    system_user = User(
        username=SYSTEM,
        password=unusable_password(),
        account_id=system.id,
        firstname=SYSTEM,
        lastname="cloud",
        state=UserState.ENABLED.value,
    )
    session.add(system_user)
    session.flush()
    admin_user = User(
        username=ADMIN,
        password=encode_md5(DEFAULT_ADMIN_PASSWORD),
        account_id=admin.id,
        firstname=ADMIN,
        lastname="cloud",
        state=UserState.ENABLED.value,
    )
    session.add(admin_user)
    root.owner = admin.id
    session.add(_sso_key_row(database_key, algorithm))
    session.flush()
    if system.id != SYSTEM_ACCOUNT_ID or system_user.id != SYSTEM_USER_ID:
        raise SetupError(
            f"the system account and user got ids {system.id} and {system_user.id}, not 1;"
            " the database must be empty"
        )
    return SeededRows(root.id, system.id, system_user.id, admin.id, admin_user.id)


def _account(name: str, domain_id: int) -> Account:
    return Account(
        account_name=name,
        type=int(AccountType.ADMIN),
        domain_id=domain_id,
        state=AccountState.ENABLED.value,
    )


def _sso_key_row(database_key: str, algorithm: str) -> Configuration:
    # An HMAC-SHA1 key as CloudStack generates it: 64 random bytes, base64.
    key = base64.b64encode(secrets.token_bytes(64)).decode("ascii")
    return Configuration(
        name=SSO_KEY,
        value=wrap_enc(encrypt(key, database_key, algorithm)),
        category="Secure",
        instance="DEFAULT",
        component="management-server",
        description=_SSO_DESCRIPTION,
    )


def check_database_key(session: Session, database_key: str, algorithm: str) -> None:
    """Prove ``database_key`` is the key the database's secrets are encrypted with.

    Decrypts the seeded ``security.singlesignon.key``; jasypt's padding check makes a
    wrong key fail (with a chance of 1 in 256 for DES of passing the padding check, then
    the result is rejected because it is not the base64 text that was stored).

    :raises SetupError: the row is missing (the database was not set up by cumulo) or
        the key does not decrypt it.
    """
    stored = session.scalar(select(Configuration.value).where(Configuration.name == SSO_KEY))
    inner = unwrap_enc(stored) if stored else None
    if inner is None:
        raise SetupError(
            f"the cloud database holds no encrypted {SSO_KEY}; it was not set up by"
            " 'cumulo setup-databases --deploy-as'"
        )
    try:
        plain = decrypt(inner, database_key, algorithm)
        base64.b64decode(plain, validate=True)
    except (CryptoError, ValueError):
        raise SetupError(
            "the database key (-k) does not decrypt the secrets in the cloud database;"
            " give the -k used on the first management server"
        ) from None
