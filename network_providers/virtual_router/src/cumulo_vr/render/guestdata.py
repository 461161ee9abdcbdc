"""The files the router serves to guests over HTTP, as 4.1's router does.

The metadata server (``bin/metadata_server.py``) answers on the router's guest address
(the gateway of an isolated network), port 80,
from the directory of the asking guest's address:

- ``/latest/user-data`` → ``www/<guest ip>/user-data`` (the userdata decoded from the
  base64 the API took);
- ``/latest/meta-data/`` → the list of names; ``/latest/meta-data/<name>`` and 4.1's
  short form ``/latest/<name>`` → ``www/<guest ip>/meta-data/<name>``.

Passwords are not part of the rendered state: a password is written once, when a NIC
is prepared with one, and the password server (port 8080) removes it when the guest
confirms it saved it; see :mod:`cumulo_vr.router_files.metadata_server`.
"""

from __future__ import annotations

import base64
import binascii

from cumulo.sdk.network import ProviderRefused
from cumulo_vr.layout import guest_data_path, is_safe_name
from cumulo_vr.render.checks import check_ip
from cumulo_vr.state import RouterState


def render_guest_data(state: RouterState) -> dict[str, bytes]:
    """``www/<ip>/user-data`` and ``www/<ip>/meta-data/<name>`` of every NIC."""
    files: dict[str, bytes] = {}
    for nic in state.nics:
        address = check_ip(nic.ip_address)
        if nic.user_data is not None:
            try:
                data = base64.b64decode(nic.user_data.encode(), validate=True)
            except (binascii.Error, ValueError):
                raise ProviderRefused(
                    f"the userdata of VM {nic.vm_uuid} is not valid base64"
                ) from None
            files[guest_data_path(address, "user-data")] = data
        for name, content in nic.metadata.items():
            if not is_safe_name(name):
                raise ProviderRefused(f"invalid metadata name {name!r}")
            files[guest_data_path(address, f"meta-data/{name}")] = content.encode()
    return files
