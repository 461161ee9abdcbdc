"""What other areas read of key pairs: the public key an account's pair carries.

``deployVirtualMachine keypair=`` and ``resetSSHKeyForVirtualMachine keypair=`` resolve
the name within the VM owner's account (4.1: ``_sshKeyPairDao.findByName(accountId,
domainId, name)``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.keypairs.models import SSHKeyPair
from cumulo.sdk.errors import InvalidParameterValue


def public_key_for(session: Session, account_id: int, name: str, *, param: str = "keypair") -> str:
    """The public key (``ssh-rsa AAAA... [comment]``) of the pair ``name`` of the account
    with internal id ``account_id``; one statement.

    :param param: the parameter named in the error.
    :raises InvalidParameterValue: the account has no pair of that name (431 naming
        ``param``).
    """
    key = session.scalar(
        select(SSHKeyPair.public_key).where(
            SSHKeyPair.account_id == account_id, SSHKeyPair.name == name
        )
    )
    if key is None:
        raise InvalidParameterValue(
            f"A key pair with name '{name}' was not found for the account ({param})"
        )
    return key
