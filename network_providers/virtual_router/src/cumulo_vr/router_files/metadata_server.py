"""The router's metadata and password servers (pushed to ``bin/metadata_server.py``).

Runs on the router with ``python3`` and the standard library only. Port 80 of the
guest gateway serves each guest its own files, found by the address it asks from
(4.1's router does the same with Apache rewrite rules):

- ``GET /latest/user-data`` → ``www/<guest ip>/user-data``;
- ``GET /latest/meta-data/`` → the names of ``www/<guest ip>/meta-data/``, one a line;
- ``GET /latest/meta-data/<name>`` and ``GET /latest/<name>`` → that file.

Port 8080 is the password server of 4.1's ``cloud-set-guest-password`` scripts,
simplified: a request with the header ``DomU_Request: send_my_password`` gets the
password written for the guest (``passwords/<guest ip>``), or ``saved_password`` when
there is none; ``DomU_Request: saved_password`` deletes it (the guest stored it), so a
password is served until the guest confirms it, never kept after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _safe(name: str) -> bool:
    return bool(name) and not name.startswith(".") and set(name) <= _NAME_CHARS


class _Handler(BaseHTTPRequestHandler):
    server_version = "cumulo-vr-metadata"
    root: Path

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: guests poll; the router has no use for an access log."""

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _guest_dir(self) -> Path:
        return self.root / "www" / self.client_address[0]

    def _metadata(self) -> None:
        path = self.path.split("?", 1)[0]
        parts = [part for part in path.split("/") if part]
        if not parts or parts[0] != "latest":
            return self._send(404, b"not found\n")
        rest = parts[1:]
        guest = self._guest_dir()
        if rest == ["user-data"]:
            target = guest / "user-data"
        elif rest in ([], ["meta-data"]):
            names = sorted(p.name for p in (guest / "meta-data").glob("*")) if rest else []
            listing = names if rest else ["meta-data", "user-data"]
            return self._send(200, "".join(f"{name}\n" for name in listing).encode())
        elif len(rest) == 2 and rest[0] == "meta-data" and _safe(rest[1]):
            target = guest / "meta-data" / rest[1]
        elif len(rest) == 1 and _safe(rest[0]):
            target = guest / "meta-data" / rest[0]
        else:
            return self._send(404, b"not found\n")
        try:
            self._send(200, target.read_bytes())
        except OSError:
            self._send(404, b"not found\n")

    def _password(self) -> None:
        request = (self.headers.get("DomU_Request") or "").strip()
        target = self.root / "passwords" / self.client_address[0]
        if request == "send_my_password":
            try:
                return self._send(200, target.read_bytes().strip())
            except OSError:
                return self._send(200, b"saved_password")
        if request == "saved_password":
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return self._send(200, b"saved_password")
        self._send(400, b"bad_request")


class _MetadataHandler(_Handler):
    def do_GET(self) -> None:
        self._metadata()

    def do_HEAD(self) -> None:
        self._metadata()


class _PasswordHandler(_Handler):
    def do_GET(self) -> None:
        self._password()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer would look its own address up in DNS (socket.getfqdn), which hangs
        # on a router whose resolver is not reachable yet.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


def serve(root: Path, bind: str, metadata_port: int, password_port: int, pidfile: str) -> None:
    """Serve both ports until killed; write ``pidfile`` once both are bound."""
    servers = []
    for port, base in ((metadata_port, _MetadataHandler), (password_port, _PasswordHandler)):
        handler = type(base.__name__, (base,), {"root": root})
        servers.append(_Server((bind, port), handler))
    with open(pidfile + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".tmp", pidfile)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description="cumulo router metadata/password server")
    parser.add_argument("--root", required=True, help="the router's directory")
    parser.add_argument("--bind", required=True, help="the guest gateway address")
    parser.add_argument("--metadata-port", type=int, default=80)
    parser.add_argument("--password-port", type=int, default=8080)
    parser.add_argument("--pidfile", required=True)
    args = parser.parse_args()
    serve(Path(args.root), args.bind, args.metadata_port, args.password_port, args.pidfile)


if __name__ == "__main__":
    main()
