"""REQ-INST-01: setup warns about a host name that is not fully qualified and about
clocks that are not synchronised."""

from __future__ import annotations

from cumulo.setup.host_checks import fqdn_warning, time_sync_warning


def test_a_fully_qualified_name_passes() -> None:
    assert fqdn_warning("management1.lab.example.org") is None


def test_a_short_or_localhost_name_is_warned_about() -> None:
    for name in ("management1", "localhost", "localhost.localdomain"):
        warning = fqdn_warning(name)
        assert warning is not None
        assert repr(name) in warning
        assert "hostname --fqdn" in warning


def test_time_sync() -> None:
    assert time_sync_warning(running=True) is None
    warning = time_sync_warning(running=False)
    assert warning is not None and "time synchronisation" in warning
