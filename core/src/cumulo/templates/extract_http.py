"""Serving ``extractTemplate``/``extractIso`` URLs from the management server.

:class:`ExtractResource` is a falcon-style resource (``on_get(req, resp, token,
name)``) written without importing falcon, so the core keeps no HTTP dependency; the
API application mounts it at ``/client/extract/{token}/{name}``
(:data:`cumulo.templates.transfer.EXTRACT_PREFIX`). The token is the unguessable one
``extractTemplate`` put in the URL; an unknown token, a deleted template or a store the
management server cannot read is a 404, the same for all, so a probe learns nothing.
The file is streamed, never read into memory.
"""

from __future__ import annotations

from typing import Any

from cumulo.templates.transfer import EXTRACT_PREFIX, extracted_file

ROUTE = EXTRACT_PREFIX + "/{token}/{name}"
"""The route the API application adds this resource at."""


class ExtractResource:
    """``GET /client/extract/{token}/{name}``: the extracted template's bytes.

    :param runtime: the process's :class:`cumulo.runtime.Runtime` (its sessions).
    """

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def on_get(self, req: Any, resp: Any, token: str, name: str) -> None:
        """Stream the file, or answer 404."""
        with self.runtime.sessions() as session:
            found = extracted_file(session, token)
        if found is None or found.name != name:
            resp.status = "404 Not Found"
            resp.content_type = "text/plain"
            resp.text = "No such extracted template (the link is unknown or expired)."
            return
        resp.content_type = "application/octet-stream"
        resp.set_header("Content-Disposition", f'attachment; filename="{found.name}"')
        resp.set_stream(found.path.open("rb"), found.size)
