"""What a management-server process holds for its lifetime, built once at start-up.

The API server, the job worker and CLI tools that act on the cloud all need the same
few things: the plugin manager, the database engine and session factory, the
configuration registry, the database key (which decrypts secrets in tables) and this
server's identity. :class:`Runtime` gathers them so nothing reaches for globals.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pluggy
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from cumulo import events
from cumulo.config import ConfigRegistry, ConfigStore
from cumulo.config.cache import ConfigCache
from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.db.engine import create_engine, session_factory
from cumulo.plugins import get_plugin_manager
from cumulo.secret_key import obtain_management_key
from cumulo.settings import load_db_properties


def _default_msid() -> int:
    # CloudStack derives msid from the MAC address; a random 48-bit number per process
    # start is as unique and lets several servers share one machine in tests.
    return (uuid.getnode() ^ (os.getpid() << 16)) & 0xFFFF_FFFF_FFFF


@dataclass
class Runtime:
    """The per-process services of a management server.

    :param pm: the plugin manager.
    :param engine: the ``cloud`` database engine.
    :param sessions: its session factory (``expire_on_commit=False``).
    :param config: the configuration registry (core and plugin keys).
    :param database_key: decrypts and encrypts secrets stored in tables.
    :param algorithm: the jasypt algorithm of those secrets.
    :param msid: this management server's id (``mshost.msid``, job ownership).
    :param server_name: this server's host name, for ``mshost``.
    :param config_cache: global configuration values read through
        :meth:`config_store`, remembered for a few seconds (:mod:`cumulo.config.cache`).
    :param region_id: the region this installation belongs to (``region.id`` of
        ``db.properties``; 1, the default region, when not configured).
    """

    pm: pluggy.PluginManager
    engine: Engine
    sessions: sessionmaker[Session]
    config: ConfigRegistry
    database_key: str
    algorithm: str = DEFAULT_ALGORITHM
    msid: int = field(default_factory=_default_msid)
    server_name: str = field(default_factory=socket.gethostname)
    config_cache: ConfigCache = field(default_factory=ConfigCache)
    region_id: int = 1

    def __post_init__(self) -> None:
        # Events recorded in this process's sessions reach observers after commit.
        events.install(self.sessions, self.pm)
        # Code holding only a session (the network orchestrator calling providers that
        # start router system VMs) finds the runtime there: session.info["runtime"].
        info = dict(self.sessions.kw.get("info") or {})
        info["runtime"] = self
        self.sessions.configure(info=info)

    @classmethod
    def for_url(
        cls,
        url: str | URL,
        database_key: str,
        *,
        pm: pluggy.PluginManager | None = None,
        algorithm: str = DEFAULT_ALGORITHM,
        region_id: int = 1,
    ) -> Runtime:
        """A runtime on ``url`` (tests, tools given ``--url``)."""
        pm = pm or get_plugin_manager()
        engine = create_engine(url)
        return cls(
            pm=pm,
            engine=engine,
            sessions=session_factory(engine),
            config=ConfigRegistry.build(pm),
            database_key=database_key,
            algorithm=algorithm,
            region_id=region_id,
        )

    @classmethod
    def from_conf(
        cls,
        conf: Path,
        *,
        management_key: str | None = None,
        pm: pluggy.PluginManager | None = None,
    ) -> Runtime:
        """A runtime from ``<conf>/db.properties``; the management key comes from the
        key file or the web sender (``db.cloud.encryption.type``) unless given."""
        props = load_db_properties(conf)
        if management_key is None:
            encryption = props.encryption_type
            management_key = "" if encryption == "none" else obtain_management_key(encryption, conf)
        return cls.for_url(
            props.cloud_url(management_key),
            props.database_key(management_key),
            pm=pm,
            algorithm=props.algorithm,
            region_id=props.region_id,
        )

    def config_store(self, session: Session) -> ConfigStore:
        """The configuration values, read and written in ``session``'s transaction
        (global values read through the process's cache)."""
        return ConfigStore(
            self.config,
            session,
            self.database_key,
            algorithm=self.algorithm,
            cache=self.config_cache,
        )

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
