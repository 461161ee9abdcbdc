"""VM secrets: the console (VNC) password and the guest password.

- The VNC password is random and stored ``ENC(...)`` under the database key, exactly
  as host passwords are (:func:`cumulo.infra.hosts.connection.conceal`); it is
  decrypted only to build the :class:`~cumulo.sdk.hypervisor.VmSpec`.
- The guest password of a password-enabled template is generated at deploy, reset and
  restore and shown once, in that command's answer. When the VM has an SSH key pair,
  4.1 also keeps it encrypted with the key's RSA public key (PKCS#1 v1.5, base64) so
  that ``getVMPassword`` can hand it to whoever holds the private key; that ciphertext
  is what ``vm_instance.password`` stores. The plain password is never stored.
"""

from __future__ import annotations

import base64
import secrets
import string

from Crypto.Cipher import PKCS1_v1_5
from Crypto.PublicKey import RSA

from cumulo.infra.hosts.connection import conceal, reveal
from cumulo.sdk.errors import InvalidParameterValue

_ALPHABET = string.ascii_letters + string.digits
# 4.1's generated passwords avoid characters that are easy to confuse on a console.
_GUEST_ALPHABET = "".join(c for c in _ALPHABET if c not in "0OoIl1")


def new_vnc_password(database_key: str, algorithm: str) -> str:
    """A fresh random console password, as stored (``ENC(...)`` under the key)."""
    return conceal("".join(secrets.choice(_ALPHABET) for _ in range(16)), database_key, algorithm)


def vnc_password(stored: str, database_key: str, algorithm: str) -> str:
    """The console password in plain text, for the driver."""
    return reveal(stored, database_key, algorithm)


def new_guest_password(length: int = 6) -> str:
    """A fresh guest password (4.1: ``vm.password.length``, default 6)."""
    return "".join(secrets.choice(_GUEST_ALPHABET) for _ in range(max(6, length)))


def encrypt_for_key(public_key: str, password: str) -> str:
    """``password`` encrypted with an SSH RSA public key (``ssh-rsa AAAA... comment``),
    base64: what 4.1's ``RSAHelper.encryptWithSSHPublicKey`` stores and
    ``getVMPassword`` returns (decrypt with ``openssl rsautl -decrypt -inkey key``).

    :raises InvalidParameterValue: the key is not an RSA public key (431 naming
        ``keypair``).
    """
    try:
        key = RSA.import_key(public_key.strip())
    except (ValueError, IndexError, TypeError) as exc:
        raise InvalidParameterValue(
            f"keypair: the key pair's public key is not an RSA key ({exc})"
        ) from exc
    return base64.b64encode(PKCS1_v1_5.new(key).encrypt(password.encode())).decode()
