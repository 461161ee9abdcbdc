"""``cumulo_api.wsgi:application``: what gunicorn serves.

The runtime is built from ``db.properties`` in the configuration directory
(``CUMULO_CONF_DIR``, else CloudStack's ``/etc/cloud/management``) when gunicorn
imports this module in each worker process.
"""

from __future__ import annotations

import falcon

from cumulo.runtime import Runtime
from cumulo.settings import conf_dir
from cumulo_api.app import create_app


def build_application() -> falcon.App[falcon.Request, falcon.Response]:
    """The application of the management server configured in the configuration
    directory; raises ``cumulo.settings.SettingsError`` when it has no usable
    ``db.properties``."""
    return create_app(Runtime.from_conf(conf_dir()))


application = build_application()
