"""Test helpers for templates: a real HTTP template server and ready-made rows.

- :class:`TemplateServer`: ``http.server`` in a thread on 127.0.0.1 serving byte
  strings by path, with ``Content-Length``; a *gate* holds a download after its first
  bytes until the test opens it, so progress can be observed deterministically;
- :func:`zone_with_store`: a zone, pod, cluster (``Simulator`` by default) and a
  ``file://`` secondary store in a directory, committed;
- :func:`ready_template`: a template already downloaded in a zone (for tests of
  other areas that deploy from one without downloading it).

Tests only: nothing here is used by the server.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.infra.hosts.models import Cluster, Host, HostStatus, HostType
from cumulo.infra.models import Pod, Zone
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate


@dataclass
class Gate:
    """Holds a response after ``after_bytes`` bytes until :meth:`open`."""

    after_bytes: int
    opened: threading.Event = field(default_factory=threading.Event)
    reached: threading.Event = field(default_factory=threading.Event)

    def open(self) -> None:
        """Let the held response finish."""
        self.opened.set()


class TemplateServer:
    """A real HTTP server on 127.0.0.1 serving ``files`` (path → bytes).

    Use as a context manager; :attr:`base` is ``http://127.0.0.1:<port>``.
    """

    def __init__(self, files: Mapping[str, bytes], gate: Gate | None = None) -> None:
        self.files = dict(files)
        self.gate = gate
        self.requests: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                body = owner.files.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404, "no such template")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                held = owner.gate
                if held is None:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[: held.after_bytes])
                self.wfile.flush()
                held.reached.set()
                held.opened.wait(60)
                self.wfile.write(body[held.after_bytes :])

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        """The URL of ``path``."""
        return f"{self.base}{path}"

    def __enter__(self) -> TemplateServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.open()
        self._server.shutdown()
        self._server.server_close()


def md5_of(data: bytes) -> str:
    """The MD5 hex digest 4.1's ``checksum`` takes."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class TestZone:
    """Ids of :func:`zone_with_store`'s rows."""

    __test__ = False

    zone_id: int
    zone_uuid: str
    store_id: int
    store_dir: Path


def zone_with_store(
    session: Session, store_dir: Path, *, name: str = "z1", hypervisor: str = "Simulator"
) -> TestZone:
    """A Basic zone with a pod, a ``hypervisor`` cluster and a ``file://`` secondary
    store in ``store_dir`` (created); committed."""
    store_dir.mkdir(parents=True, exist_ok=True)
    zone = Zone(name=name, dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
    session.add(zone)
    session.flush()
    pod = Pod(
        name=f"{name}-p1",
        data_center_id=zone.id,
        gateway="10.1.0.1",
        cidr_address="10.1.0.0",
        cidr_size=24,
        reserved_start_num=167837954,
        reserved_end_num=167837960,
    )
    session.add(pod)
    session.flush()
    session.add(
        Cluster(
            name=f"{name}-c1", pod_id=pod.id, data_center_id=zone.id, hypervisor_type=hypervisor
        )
    )
    url = f"file://{store_dir.resolve()}"
    store = Host(
        name=url,
        type=HostType.SECONDARY_STORAGE.value,
        status=HostStatus.UP.value,
        data_center_id=zone.id,
        url=url,
        guid=url,
        hypervisor_type="None",
        last_ping=utcnow(),
    )
    session.add(store)
    session.commit()
    return TestZone(zone.id, zone.uuid, store.id, store_dir)


def ready_template(
    session: Session,
    *,
    account_id: int,
    domain_id: int,
    zone_id: int,
    name: str = "tiny",
    size: int = 2 * 1024**3,
    public: bool = True,
    iso: bool = False,
    hypervisor: str = "Simulator",
    guest_os_id: int = 12,
) -> VMTemplate:
    """A template (or ISO) already downloaded in zone ``zone_id``; flushed, not
    committed."""
    template = VMTemplate(
        name=name,
        display_text=name,
        format="ISO" if iso else "QCOW2",
        hypervisor_type=None if iso else hypervisor,
        guest_os_id=guest_os_id,
        account_id=account_id,
        domain_id=domain_id,
        public=public,
        featured=public,
        url=f"http://templates.example/{name}.{'iso' if iso else 'qcow2'}",
        size=size,
        physical_size=size,
    )
    session.add(template)
    session.flush()
    now = utcnow()
    session.add(
        TemplateZoneRef(
            template_id=template.id,
            zone_id=zone_id,
            download_state=DownloadState.DOWNLOADED.value,
            download_pct=100,
            size=size,
            physical_size=size,
            install_path=f"template/tmpl/{account_id}/{template.id}/{template.uuid}.qcow2",
            created=now,
            last_updated=now,
        )
    )
    session.flush()
    return template
