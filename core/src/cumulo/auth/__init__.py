"""Authentication: passwords, API keys, login sessions (CloudStack 4.1 semantics).

- :mod:`cumulo.auth.authenticators` — the built-in password formats (drivers);
- :mod:`cumulo.auth.passwords` — the configured chains, encoding and checking;
- :mod:`cumulo.auth.keys` — API key pairs (secret stored ``ENC()``);
- :mod:`cumulo.auth.identity` — a caller's user, account and domain in one query;
- :mod:`cumulo.auth.sessions` — server-side sessions shared by every server;
- :mod:`cumulo.auth.login` — who may log in, attempt counting and lockout.

Nothing here knows about HTTP: request signing and cookies live in ``cumulo_api``.
"""
