"""Passwords: encoding new ones and checking logins through the authenticator chain.

The chain is made of :class:`cumulo.sdk.auth.UserAuthenticator` drivers loaded by name
from ``cumulo.authenticators``. Two global settings order them, as in later CloudStack
releases: ``user.authenticators.order`` (tried at login, first success wins; 4.1's
chain is MD5, LDAP, PlainText) and ``user.password.encoders.order`` (the first that
encodes stores new passwords; 4.1 encodes with MD5). A successful login whose stored
value is not in the first encoder's format (or is below its current cost) is encoded
anew in the same transaction, so a database migrated from CloudStack moves to PBKDF2
one login at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import pluggy
from sqlalchemy.orm import Session

from cumulo.accounts.models import User
from cumulo.auth.authenticators import PBKDF2_PREFIX, Pbkdf2Authenticator
from cumulo.config import ConfigRegistry, ConfigStore
from cumulo.drivers import load_drivers
from cumulo.sdk.auth import UserAuthenticator

AUTHENTICATOR_GROUP = "cumulo.authenticators"
AUTHENTICATORS_KEY = "user.authenticators.order"
ENCODERS_KEY = "user.password.encoders.order"
DEFAULT_AUTHENTICATORS: tuple[str, ...] = ("PBKDF2", "SHA256SALT", "MD5", "PLAINTEXT")
DEFAULT_ENCODERS: tuple[str, ...] = ("PBKDF2", "SHA256SALT", "MD5")


class PasswordEncodingError(RuntimeError):
    """No configured encoder produced a value (4.1: "Failed to encode password")."""


@dataclass(frozen=True)
class PasswordChains:
    """The authenticators tried at login and the encoders of new passwords, in order."""

    authenticators: tuple[UserAuthenticator, ...]
    encoders: tuple[UserAuthenticator, ...]


def _names(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(name.strip() for name in (value or "").split(",") if name.strip())
    return names or default


@functools.lru_cache(maxsize=16)
def _load(names: tuple[str, ...], key: str) -> tuple[UserAuthenticator, ...]:
    # Importing drivers scans entry points; a login must not pay for it every time.
    # Keyed by the names, so a changed setting takes effect at the next login.
    classes = load_drivers(AUTHENTICATOR_GROUP, names, where=f"global setting '{key}'")
    chain: list[UserAuthenticator] = []
    for name, cls in classes.items():
        if not issubclass(cls, UserAuthenticator):
            raise TypeError(f"authenticator {name!r} is not a cumulo.sdk.auth.UserAuthenticator")
        chain.append(cls())
    return tuple(chain)


def clear_cache() -> None:
    """Forget loaded chains (tests that substitute drivers call this)."""
    _load.cache_clear()


def chains_for(
    authenticators: Sequence[str] = DEFAULT_AUTHENTICATORS,
    encoders: Sequence[str] = DEFAULT_ENCODERS,
) -> PasswordChains:
    """The chains for explicit driver names (cached per name list).

    :raises cumulo.drivers.DriverLoadError: a name cannot be loaded.
    """
    return PasswordChains(
        _load(tuple(authenticators), AUTHENTICATORS_KEY), _load(tuple(encoders), ENCODERS_KEY)
    )


def configured_chains(store: ConfigStore) -> PasswordChains:
    """The chains the global settings ask for, read in one statement from ``store``."""
    values = store.values([AUTHENTICATORS_KEY, ENCODERS_KEY])
    return chains_for(
        _names(values[AUTHENTICATORS_KEY], DEFAULT_AUTHENTICATORS),
        _names(values[ENCODERS_KEY], DEFAULT_ENCODERS),
    )


def encode_password(
    pm: pluggy.PluginManager,
    password: str,
    session: Session | None = None,
    *,
    registry: ConfigRegistry | None = None,
) -> str:
    """The value to store in ``user.password`` for a new or changed password.

    :param pm: the plugin manager (its configuration keys give the setting's default).
    :param session: reads ``user.password.encoders.order`` in the caller's transaction;
        without it the default order (PBKDF2 first) is used.
    :param registry: the process's configuration registry, if at hand (else built from
        ``pm``).
    :raises PasswordEncodingError: no encoder of the chain encodes.
    """
    if session is None:
        encoders = chains_for().encoders
    else:
        store = ConfigStore(registry or ConfigRegistry.build(pm), session, None)
        encoders = configured_chains(store).encoders
    return encode_with(encoders, password)


def encode_with(encoders: Sequence[UserAuthenticator], password: str) -> str:
    """Encode with the first of ``encoders`` that returns a value."""
    for encoder in encoders:
        encoded = encoder.encode(password)
        if encoded is not None:
            return encoded
    raise PasswordEncodingError("Failed to encode password: no password encoder is configured")


def check_password(chains: PasswordChains, user: User, password: str) -> UserAuthenticator | None:
    """The first authenticator of the chain that accepts ``password`` for ``user``, or
    ``None``. Changes nothing; attempt counting and the user's state are the caller's
    business (:mod:`cumulo.auth.login`)."""
    stored = user.password or ""
    for authenticator in chains.authenticators:
        if authenticator.authenticate(user.username, password, stored):
            return authenticator
    return None


def upgrade_password(
    chains: PasswordChains, user: User, password: str, winner: UserAuthenticator
) -> bool:
    """Re-encode ``user.password`` with the first encoder when ``winner`` (the
    authenticator that just accepted ``password``) is not that encoder, or its value is
    below the current cost. Done in place: the caller's transaction stores it.

    :return: whether the stored value changed.
    """
    if not _should_rehash(chains, winner, user.password or ""):
        return False
    user.password = encode_with(chains.encoders, password)
    return True


def authenticate_password(chains: PasswordChains, user: User, password: str) -> bool:
    """:func:`check_password`, then :func:`upgrade_password` on success."""
    winner = check_password(chains, user, password)
    if winner is None:
        return False
    upgrade_password(chains, user, password, winner)
    return True


def _should_rehash(chains: PasswordChains, winner: UserAuthenticator, stored: str) -> bool:
    if not winner.stores_password or not chains.encoders:
        return False  # e.g. a directory-backed authenticator: the stored value is a stub
    first = chains.encoders[0]
    return type(first) is not type(winner) or winner.needs_rehash(stored)


# A stored value no password matches, costing what a real PBKDF2 check costs.
_DUMMY_PBKDF2 = (
    f"{PBKDF2_PREFIX}${Pbkdf2Authenticator.iterations}$"
    "AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


def burn_password_check(chains: PasswordChains, password: str) -> None:
    """Spend the time a failed check would, for a user that does not exist.

    Without it, "no such user" answers in microseconds and "wrong password" in tens of
    milliseconds, which tells an attacker which user names exist.
    """
    for authenticator in chains.authenticators:
        authenticator.authenticate("", password, _DUMMY_PBKDF2)
