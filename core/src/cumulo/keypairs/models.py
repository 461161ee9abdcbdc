"""The ``ssh_keypairs`` table: public keys registered or generated per account.

CloudStack 4.1's shape (``create-schema.sql``): a key pair is named within its owner
account, has no public id of its own (the API names it by ``name`` plus the owner's
``account``/``domainid``), and is deleted outright rather than soft deleted. The private
key of a generated pair is returned once by ``createSSHKeyPair`` and never stored.

The public key is kept as registered, in clear, as 4.1 keeps it: it is public material
that ``deployVirtualMachine`` and ``resetSSHKeyForVirtualMachine`` hand to guests and that
``getVMPassword`` encrypts to; the secrets REQUIREMENTS.md §7.1 calls "SSH keys" are the
management server's own key pair (``ssh.privatekey``), a secret configuration key.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType

NAME_LENGTH = 255
PUBLIC_KEY_LENGTH = 5120  # 4.1's column and ``registerSSHKeyPair publickey`` length


class SSHKeyPair(Base):
    """One key pair of an account (``account_id``, ``name``) with its fingerprint."""

    __tablename__ = "ssh_keypairs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    # Deleting an account (soft: ``removed``) deletes its key pairs in the same
    # transaction (cumulo.keypairs.cleanup); the cascade covers a row deleted outright.
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id", ondelete="CASCADE"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # ``aa:bb:...``: 16 MD5 bytes in 47 characters; room for longer digests later.
    fingerprint: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(PUBLIC_KEY_LENGTH))

    # A name is unique within its account; the index also serves every listing, which
    # is scoped by owner account.
    __table_args__ = (UniqueConstraint("account_id", "name"),)
