"""The password authenticator contract: drivers of the ``cumulo.authenticators`` group.

CloudStack 4.1 checks a login password against a chain of ``UserAuthenticator``
beans (MD5, LDAP, PlainText; the first success wins) and stores new passwords with
the first one whose ``encode`` returns something (CS41:server/src/com/cloud/user/
AccountManagerImpl.java, ``getUserAccount`` and ``createUser``). cumulo keeps that
shape: each stored format is a named driver, the operator orders them with
``user.authenticators.order`` and ``user.password.encoders.order``.

A driver is stateless and cheap to construct; it never touches the database. The core
(:mod:`cumulo.auth.passwords`) reads the stored value, calls the chain, counts failed
attempts and re-encodes outdated hashes.
"""

from __future__ import annotations

from typing import ClassVar

from cumulo.sdk.driver import Driver


class UserAuthenticator(Driver):
    """Checks a password against a stored value, and may encode new passwords.

    Subclasses set ``name`` (the entry-point name, e.g. ``PBKDF2``) and override
    :meth:`authenticate`, and :meth:`encode` if they can store passwords.
    """

    name: ClassVar[str] = ""
    stores_password: ClassVar[bool] = True
    """Whether ``user.password`` holds this authenticator's own encoding of the password.
    A directory-backed authenticator (LDAP) sets ``False``: its stored value is a stub,
    so a login through it must never re-encode the password locally."""

    def encode(self, password: str) -> str | None:
        """The value to store for ``password``, or ``None`` when this authenticator
        does not store passwords (an LDAP authenticator, say).

        :param password: the password as the user typed it (any Unicode text; never
            logged). An empty password is encoded like any other: the caller decides
            whether it is allowed.
        :return: at most 255 characters (the ``user.password`` column); salted
            formats return a different value on every call.
        """
        return None

    def authenticate(self, username: str, password: str, stored: str) -> bool:
        """Whether ``password`` matches ``stored`` for this authenticator's format.

        :param username: the login name, for authenticators that ask an external
            directory; hash formats ignore it.
        :param password: the password as the user typed it.
        :param stored: the ``user.password`` value, in whatever format it has.
        :return: ``True`` only on a match. A value in a format the authenticator
            does not recognise is ``False``, never an exception: the next
            authenticator of the chain gets its turn. Comparisons must take
            constant time with respect to the stored value.
        """
        raise NotImplementedError

    def needs_rehash(self, stored: str) -> bool:
        """Whether a value this authenticator accepted should be stored anew even when
        it is already the first encoder (its cost parameters are below the current
        ones). The default is ``False``.
        """
        return False
