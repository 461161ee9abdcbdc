"""Configuration values in the database: read with fallback, write validated.

A lookup at a scope (zone, cluster, storage pool, account) returns the scoped override,
else the global override, else the declared default, and costs one statement whatever
the fallback; :meth:`ConfigStore.values` fetches many keys in one statement too. Writes
are one upsert statement each. The store never commits: it works inside the caller's
transaction, like every service. It uses Core statements, so ``Configuration`` objects
the same session loaded through the ORM earlier are not refreshed by a ``set``.

Given a :class:`cumulo.config.cache.ConfigCache` (the runtime's stores are), global
reads are served from it for a few seconds; that module says how fresh they are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import delete, literal, select, union_all
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from cumulo.config import core_keys
from cumulo.config.cache import ConfigCache, has_written, note_write
from cumulo.config.models import Configuration, ScopedConfiguration
from cumulo.config.registry import ConfigRegistry
from cumulo.config.validation import InvalidConfigValue
from cumulo.crypto import DEFAULT_ALGORITHM, CryptoError, decrypt, encrypt, unwrap_enc, wrap_enc
from cumulo.db.base import utcnow
from cumulo.sdk import ConfigKey, Scope

# Rank of a row in a fallback query: the lowest present rank wins.
_SCOPED, _GLOBAL = 0, 1


class ScopeNotAllowed(InvalidConfigValue):
    """The key cannot be set or read per zone/cluster/storage pool/account as asked."""


class ConfigStore:
    """Read and write configuration values through one SQLAlchemy session.

    :param registry: the declared keys (validation, defaults, scopes, secrecy).
    :param session: the caller's session; the store executes statements in its current
        transaction and never commits or rolls back.
    :param database_key: the database key (``DbProperties.database_key``) that encrypts
        values of keys declared ``secret``; they are stored as ``ENC(...)``. ``None`` or
        empty means encryption type ``none``: secrets are stored plain, as CloudStack
        does then.
    :param cache: remembers global values between transactions (``None``: every read
        runs a statement).
    """

    def __init__(
        self,
        registry: ConfigRegistry,
        session: Session,
        database_key: str | None,
        *,
        algorithm: str = DEFAULT_ALGORITHM,
        cache: ConfigCache | None = None,
    ) -> None:
        self.registry = registry
        self._session = session
        self._database_key = database_key or ""
        self._algorithm = algorithm
        self._cache = cache

    # -- reading --------------------------------------------------------------------------

    def value(
        self, name: str, scope: Scope | str = Scope.GLOBAL, scope_id: int | None = None
    ) -> str | None:
        """The effective value of ``name`` (decrypted if secret), in one statement.

        :raises UnknownConfigKey: no such key.
        :raises ScopeNotAllowed: the key has no override at ``scope``, or the scope id is
            missing (or given for ``global``).
        """
        return self.values([name], scope, scope_id)[name]

    def values(
        self, names: Iterable[str], scope: Scope | str = Scope.GLOBAL, scope_id: int | None = None
    ) -> dict[str, str | None]:
        """The effective values of ``names`` (keyed as asked), in one statement; none for
        an empty ``names``. Raises as :meth:`value` does for any of them."""
        wanted = {name: self._key(name, scope, scope_id) for name in names}
        if not wanted:
            return {}
        keys = {key.name: key for key in wanted.values()}
        cache = self._cache
        if cache is None or Scope(scope) is not Scope.GLOBAL or has_written(self._session):
            found = self._fetch(Scope(scope), scope_id, keys)
            return {name: self._effective(key, found) for name, key in wanted.items()}
        effective, generation = cache.lookup(keys)
        missing = [name for name in keys if name not in effective]
        if missing:
            found = self._fetch(Scope.GLOBAL, None, missing)
            read = {name: self._effective(keys[name], found) for name in missing}
            cache.store(read, generation)
            effective.update(read)
        return {name: effective[key.name] for name, key in wanted.items()}

    def all_values(
        self, scope: Scope | str = Scope.GLOBAL, scope_id: int | None = None
    ) -> dict[str, str | None]:
        """Every key that may be set at ``scope`` with its effective value, by declared
        name, in one statement (what ``listConfigurations`` shows; secrets decrypted, so
        the caller masks them)."""
        level = self._scope(scope, scope_id)
        keys = [k for k in self.registry if level is Scope.GLOBAL or level in k.scopes]
        found = self._fetch(level, scope_id, None)
        return {key.name: self._effective(key, found) for key in keys}

    def integer(
        self, name: str, scope: Scope | str = Scope.GLOBAL, scope_id: int | None = None
    ) -> int | None:
        """:meth:`value` as an ``int`` (stored values are validated, so this parses)."""
        text = self.value(name, scope, scope_id)
        return None if text is None else int(text)

    def boolean(
        self, name: str, scope: Scope | str = Scope.GLOBAL, scope_id: int | None = None
    ) -> bool | None:
        """:meth:`value` as a ``bool`` (``true``/``false`` in any case)."""
        text = self.value(name, scope, scope_id)
        return None if text is None else text.strip().lower() == "true"

    # -- writing --------------------------------------------------------------------------

    def set(
        self,
        name: str,
        value: str,
        scope: Scope | str = Scope.GLOBAL,
        scope_id: int | None = None,
    ) -> str:
        """Validate ``value`` and store it as the override of ``name`` at ``scope``.

        :return: the normalised value as stored (plaintext, even for a secret).
        :raises InvalidConfigValue: the value does not fit (or :class:`ScopeNotAllowed`,
            or ``UnknownConfigKey``); nothing is written then.
        """
        key = self._key(name, scope, scope_id)
        normalised = self.registry.validate(key.name, value)
        self._written()
        stored = normalised
        if key.secret and self._database_key:
            stored = wrap_enc(encrypt(normalised, self._database_key, self._algorithm))
        level, now = Scope(scope), utcnow()
        if level is Scope.GLOBAL:
            row: dict[str, Any] = {
                "name": key.name,
                "value": stored,
                "category": key.category,
                "instance": "DEFAULT",
                "component": self._component(key.name),
                "description": key.description[:1024],
                "updated": now,
            }
            self._upsert(Configuration, row, ("name",))
        else:
            row = {
                "scope": level.value,
                "scope_id": scope_id,
                "name": key.name,
                "value": stored,
                "updated": now,
            }
            self._upsert(ScopedConfiguration, row, ("scope", "scope_id", "name"))
        return normalised

    def reset(
        self, name: str, scope: Scope | str = Scope.GLOBAL, scope_id: int | None = None
    ) -> bool:
        """Remove the override of ``name`` at ``scope`` (the value falls back again).

        :return: whether there was an override to remove.
        """
        key = self._key(name, scope, scope_id)
        self._written()
        if Scope(scope) is Scope.GLOBAL:
            statement = delete(Configuration).where(Configuration.name == key.name)
        else:
            statement = delete(ScopedConfiguration).where(
                ScopedConfiguration.scope == Scope(scope).value,
                ScopedConfiguration.scope_id == scope_id,
                ScopedConfiguration.name == key.name,
            )
        result = self._session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    # -- internals ------------------------------------------------------------------------

    def _written(self) -> None:
        # Before the statement: a concurrent reader must not keep the old value once
        # this transaction commits (note_write empties the cache then too).
        if self._cache is not None:
            note_write(self._session, self._cache)

    def _component(self, name: str) -> str:
        # CloudStack's value for core keys (what seeded rows and CloudStack SQL use); a
        # plugin's keys name the plugin.
        contributor = self.registry.contributor(name)
        return core_keys.COMPONENT if contributor == core_keys.__name__ else contributor

    def _scope(self, scope: Scope | str, scope_id: int | None) -> Scope:
        try:
            level = Scope(scope)
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise ScopeNotAllowed(f"Unknown scope '{scope}'; expected one of {allowed}") from None
        if level is Scope.GLOBAL and scope_id is not None:
            raise ScopeNotAllowed("A global configuration value takes no scope id")
        if level is not Scope.GLOBAL and scope_id is None:
            raise ScopeNotAllowed(f"A {level.value} configuration value needs the {level} id")
        return level

    def _key(self, name: str, scope: Scope | str, scope_id: int | None) -> ConfigKey:
        key = self.registry.get_key(name)
        level = self._scope(scope, scope_id)
        if level is not Scope.GLOBAL and level not in key.scopes:
            allowed = ", ".join(["global", *sorted(s.value for s in key.scopes)])
            raise ScopeNotAllowed(
                f"Parameter '{key.name}' cannot be set per {level.value}; its scopes are: {allowed}"
            )
        return key

    def _fetch(
        self, scope: Scope, scope_id: int | None, names: Collection[str] | None
    ) -> dict[str, tuple[int, str | None]]:
        """Rows of the global table (and of the scope's), as name -> (rank, raw value)
        keeping the best rank; ``names=None`` means every row."""
        glob = select(literal(_GLOBAL).label("rank"), Configuration.name, Configuration.value)
        if names is not None:
            glob = glob.where(Configuration.name.in_(sorted(names)))
        statement: Any = glob
        if scope is not Scope.GLOBAL:
            scoped = select(
                literal(_SCOPED).label("rank"), ScopedConfiguration.name, ScopedConfiguration.value
            ).where(
                ScopedConfiguration.scope == scope.value, ScopedConfiguration.scope_id == scope_id
            )
            if names is not None:
                scoped = scoped.where(ScopedConfiguration.name.in_(sorted(names)))
            statement = union_all(scoped, glob)
        best: dict[str, tuple[int, str | None]] = {}
        for rank, name, raw in self._session.execute(statement):
            if name not in best or rank < best[name][0]:
                best[name] = (rank, raw)
        return best

    def _effective(self, key: ConfigKey, found: dict[str, tuple[int, str | None]]) -> str | None:
        if key.name not in found:
            return key.default
        raw = found[key.name][1]
        inner = unwrap_enc(raw) if raw is not None and key.secret else None
        if inner is None:
            return raw
        try:
            return decrypt(inner, self._database_key, self._algorithm)
        except CryptoError as error:
            raise CryptoError(f"configuration parameter '{key.name}': {error}") from None

    def _upsert(self, model: type[Any], row: dict[str, Any], unique: tuple[str, ...]) -> None:
        # One statement and no race between two servers setting the same key: each
        # dialect's native upsert (MySQL ON DUPLICATE KEY, SQLite/PostgreSQL ON CONFLICT).
        changed = {column: row[column] for column in row if column not in unique}
        dialect = self._session.get_bind().dialect.name
        if dialect in ("mysql", "mariadb"):
            my = mysql.insert(model).values(row)
            statement: Any = my.on_duplicate_key_update(changed)
        elif dialect in ("sqlite", "postgresql"):
            module = sqlite if dialect == "sqlite" else postgresql
            ins = module.insert(model).values(row)
            statement = ins.on_conflict_do_update(index_elements=list(unique), set_=changed)
        else:  # pragma: no cover - cumulo supports the three dialects above
            raise NotImplementedError(f"no upsert for database dialect {dialect!r}")
        self._session.execute(statement)
