"""The falcon application: ``create_app(runtime)``.

Routes:

- ``/client/api`` (GET, POST): the CloudStack 4.1 API (:mod:`cumulo_api.dispatch`);
- ``/client/api/openapi.json``: the OpenAPI description (:mod:`cumulo_api.openapi`);
- ``/healthz``: ``{"status": "ok"}`` when the database answers, else 503 — for load
  balancers in front of several management servers.

Errors of every route are rendered by :mod:`cumulo_api.errors`.
"""

from __future__ import annotations

import importlib.metadata

import falcon
import orjson
from sqlalchemy import text

from cumulo.runtime import Runtime
from cumulo.templates.extract_http import ROUTE as EXTRACT_ROUTE
from cumulo.templates.extract_http import ExtractResource
from cumulo_api import errors
from cumulo_api.dispatch import ApiResource, install_event_publishing
from cumulo_api.openapi import build_openapi
from cumulo_api.registry import CommandRegistry


def _version() -> str:
    try:
        return importlib.metadata.version("cumulo-api")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0"


class OpenApiResource:
    """``GET /client/api/openapi.json``: built once, served as bytes."""

    def __init__(self, registry: CommandRegistry) -> None:
        self.body = orjson.dumps(build_openapi(registry, version=_version()))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Serve the document."""
        resp.data = self.body
        resp.content_type = falcon.MEDIA_JSON


class HealthResource:
    """``GET /healthz``: 200 when the database answers a trivial query, else 503."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Probe the database; never raises (a probe must answer)."""
        resp.content_type = falcon.MEDIA_JSON
        try:
            with self.runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure means "not healthy", reported as such
            resp.status = falcon.HTTP_503
            resp.data = orjson.dumps({"status": "unavailable", "error": type(error).__name__})
            return
        resp.data = orjson.dumps({"status": "ok"})


def create_app(
    runtime: Runtime, registry: CommandRegistry | None = None
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI application serving ``runtime``'s cloud.

    :param registry: the commands to serve; default: built from ``runtime.pm``.
    :raises cumulo_api.registry.CommandRegistryError: two plugins declare one command.
    """
    registry = registry if registry is not None else CommandRegistry.build(runtime.pm)
    install_event_publishing(runtime)
    app = falcon.App()
    # 4.1 serves /client/api and /client/api/ alike.
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    app.add_route("/client/api", ApiResource(runtime, registry))
    app.add_route("/client/api/openapi.json", OpenApiResource(registry))
    app.add_route("/healthz", HealthResource(runtime))
    # extractTemplate/extractIso answer a URL on this server (HTTP_DOWNLOAD).
    app.add_route(EXTRACT_ROUTE, ExtractResource(runtime))
    return app
