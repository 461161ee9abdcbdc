"""pyVmomi's namespaces and entry points, typed as ``Any``.

pyVmomi builds its types at run time; its partial stubs make every constructor an
untyped call under the project's strict mypy. The plugin imports them from here.
"""

from __future__ import annotations

import importlib
from typing import Any

_pyvmomi: Any = importlib.import_module("pyVmomi")
_connect: Any = importlib.import_module("pyVim.connect")

vim: Any = _pyvmomi.vim
vmodl: Any = _pyvmomi.vmodl
SoapStubAdapter: Any = _pyvmomi.SoapStubAdapter
SmartConnect: Any = _connect.SmartConnect
Disconnect: Any = _connect.Disconnect
