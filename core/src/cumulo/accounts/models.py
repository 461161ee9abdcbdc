"""The ``domain``, ``account`` and ``user`` tables, with CloudStack 4.1's columns.

These three tables are what an operator copies from one region's database to another
(``mysqldump ... cloud account user domain``, REQ-DB-05), so they are self-contained:
their foreign keys point only at each other, and ``account.default_zone_id`` is a plain
column (the operator clears it after the copy, because zones differ per region).
Identity comes from :class:`cumulo.db.base.IdentityMixin`: internal ``id`` for joins,
public ``uuid`` for the API, ``created`` and soft-delete ``removed``.

Values stored as CloudStack stores them, so dumps stay interchangeable: account and
user ``state`` are lower case (``enabled``), domain ``state`` is ``Active``/``Inactive``,
account ``type`` is CloudStack's number (:class:`AccountType`).
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cumulo.db.base import Base, IdentityMixin, IdType


class AccountType(enum.IntEnum):
    """``account.type`` as CloudStack 4.1 numbers it (``Account.ACCOUNT_TYPE_*``)."""

    NORMAL = 0
    ADMIN = 1
    DOMAIN_ADMIN = 2
    RESOURCE_DOMAIN_ADMIN = 3
    READ_ONLY_ADMIN = 4
    PROJECT = 5  # removed before copying accounts to another region (REQ-DB-05)


class AccountState(enum.StrEnum):
    """``account.state`` values."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    LOCKED = "locked"


class UserState(enum.StrEnum):
    """``user.state`` values."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    LOCKED = "locked"


class DomainState(enum.StrEnum):
    """``domain.state`` values."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"


class Domain(IdentityMixin, Base):
    """A node of the domain tree; ``ROOT`` has no parent and path ``/``.

    ``path`` is the slash-joined chain of names below ROOT (``/Sales/EMEA/``) so that
    "this domain and everything under it" is one indexed prefix match.
    """

    __tablename__ = "domain"

    parent: Mapped[int | None] = mapped_column(IdType, ForeignKey("domain.id"))
    name: Mapped[str] = mapped_column(String(255))
    # The account that owns the domain. No foreign key: ROOT is owned by the system
    # account, which can only be created after ROOT exists.
    owner: Mapped[int] = mapped_column(IdType)
    path: Mapped[str] = mapped_column(String(255), index=True)
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    child_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_child_seq: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    state: Mapped[str] = mapped_column(
        String(32), default=DomainState.ACTIVE.value, server_default=DomainState.ACTIVE.value
    )
    network_domain: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index(None, "parent", "name"),)


class Account(IdentityMixin, Base):
    """An account: the owner of resources, of one of the :class:`AccountType` kinds."""

    __tablename__ = "account"

    account_name: Mapped[str] = mapped_column(String(100))
    type: Mapped[int] = mapped_column(SmallInteger)
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    state: Mapped[str] = mapped_column(
        String(10), default=AccountState.ENABLED.value, server_default=AccountState.ENABLED.value
    )
    cleanup_needed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    network_domain: Mapped[str | None] = mapped_column(String(255))
    # A zone id of this region only, hence no foreign key (see the module docstring).
    default_zone_id: Mapped[int | None] = mapped_column(IdType)

    domain: Mapped[Domain] = relationship()

    # Accounts are looked up by name within a domain (login, every ``account=`` +
    # ``domainid=`` API parameter pair).
    __table_args__ = (Index(None, "domain_id", "account_name"),)


class User(IdentityMixin, Base):
    """A login of an account; signs API requests with ``api_key``/``secret_key``.

    ``secret_key`` is stored as ``ENC(...)`` under the database key (REQ-ENC-01); use
    :meth:`store_secret_key` and :meth:`reveal_secret_key` rather than the column.
    """

    __tablename__ = "user"

    username: Mapped[str] = mapped_column(String(255), index=True)
    password: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    firstname: Mapped[str | None] = mapped_column(String(255))
    lastname: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(
        String(10), default=UserState.ENABLED.value, server_default=UserState.ENABLED.value
    )
    # Every signed API request starts with this lookup, hence unique and indexed.
    api_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    secret_key: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str | None] = mapped_column(String(30))
    registration_token: Mapped[str | None] = mapped_column(String(255))
    is_registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    incorrect_login_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    account: Mapped[Account] = relationship()

    def store_secret_key(
        self, secret_key: str | None, database_key: str, algorithm: str | None = None
    ) -> None:
        """Set the API secret key, encrypted with the database key.

        :param secret_key: the plain key; ``None`` clears it. It is never kept on the
            object in plain text.
        :param algorithm: the jasypt algorithm of the deployment's secrets
            (``db.cloud.encryption.algorithm``); ``None`` for CloudStack's default.
        """
        from cumulo import crypto  # deferred: models must import without crypto's deps

        if secret_key is None:
            self.secret_key = None
            return
        encrypted = crypto.encrypt(secret_key, database_key, algorithm or crypto.DEFAULT_ALGORITHM)
        self.secret_key = crypto.wrap_enc(encrypted)

    def reveal_secret_key(self, database_key: str, algorithm: str | None = None) -> str | None:
        """The API secret key in plain text, or ``None`` when the user has none.

        A value not wrapped in ``ENC(...)`` (e.g. imported from a database that stored
        it in clear) is returned as it is. Raises ``cumulo.crypto.CryptoError`` when the
        database key (or ``algorithm``) is wrong. Decrypted once per process and
        ciphertext (:mod:`cumulo.crypto_cache`): every signed request needs it.
        """
        from cumulo import crypto, crypto_cache

        if self.secret_key is None:
            return None
        inner = crypto.unwrap_enc(self.secret_key)
        if inner is None:
            return self.secret_key
        return crypto_cache.decrypt(inner, database_key, algorithm or crypto.DEFAULT_ALGORITHM)


class AccountDetail(Base):
    """One ``accountdetails`` entry of an account (``createAccount``/``updateAccount``).

    CloudStack 4.1's ``account_details`` table: free-form name/value pairs an operator
    or a provisioning system attaches to an account; ``listAccounts`` shows them as the
    ``accountdetails`` map. Not API-visible rows of their own, hence no uuid.
    """

    __tablename__ = "account_details"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    # One value per name: updateAccount replaces a detail rather than adding a second.
    # The unique index also serves "all details of these accounts" (its first column).
    __table_args__ = (UniqueConstraint("account_id", "name"),)
