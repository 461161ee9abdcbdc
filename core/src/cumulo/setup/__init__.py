"""Installation tooling: ``cumulo setup-databases`` (CloudStack's
``cloudstack-setup-databases``) and the helpers ``cumulo embedded`` reuses.

The modules follow the steps of a deployment, each usable alone:

- :mod:`~cumulo.setup.arguments`: the ``user:password@host[:port]`` syntax;
- :mod:`~cumulo.setup.deploy`: creating/dropping MySQL databases and the database user;
- :mod:`~cumulo.setup.sqlite`: the embedded SQLite files, built aside and moved in place;
- :mod:`~cumulo.setup.seed`: the ROOT domain, the system account and the ``admin`` user;
- :mod:`~cumulo.setup.passwords`: CloudStack 4.1 password hashing;
- :mod:`~cumulo.setup.publish`: ``db.properties`` and the key file, written last;
- :mod:`~cumulo.setup.verify`: the checks an additional management server runs;
- :mod:`~cumulo.setup.flows`: the three flows put together;
- :mod:`~cumulo.setup.notices`: the report and the warnings the operator sees;
- :mod:`~cumulo.setup.errors`: :class:`SetupError`, one line for the operator;
- :mod:`~cumulo.setup.cli` and :mod:`~cumulo.setup.admin_cli`: the click commands
  (``setup-databases`` and ``admin set-password``).
"""
