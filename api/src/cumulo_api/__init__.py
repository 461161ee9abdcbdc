"""cumulo's CloudStack 4.1 API server: a falcon WSGI application.

``cumulo_api.app.create_app(runtime)`` builds the application; gunicorn serves
``cumulo_api.wsgi:application``. Commands are declarations (:class:`cumulo.sdk.Command`)
contributed through the ``cumulo_api_commands`` hook; this package parses, authorizes,
dispatches and renders them exactly as CloudStack 4.1 does on the wire.
"""

CLOUDSTACK_VERSION = "4.1.0"
"""The version cumulo answers as: ``cloud-stack-version`` in XML, ``listCapabilities``."""
