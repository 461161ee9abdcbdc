"""configureSimulator through the API (4.1's command, contributed by this plugin)."""

from __future__ import annotations

import json

import cumulo_simulator.plugin
import falcon.testing
import pluggy
import pytest
from cumulo_simulator.hypervisor import SimulatorHypervisor
from cumulo_simulator.state import SimulatorState

from cumulo.plugins import CumuloPluginManager, get_plugin_manager
from cumulo.sdk import HostConnection, HostRef, HostStatus, HostUnreachable
from cumulo_api.testing import signed_request

Keys = tuple[str, str]


@pytest.fixture
def plugin_manager() -> CumuloPluginManager:
    """The built-in plugins and this plugin's hook module."""
    manager = get_plugin_manager(autoload=False)
    manager.register(cumulo_simulator.plugin, name="simulator")
    return manager


def _answer(result: falcon.testing.Result) -> dict[str, object]:
    body = json.loads(result.content)
    answer: dict[str, object] = body["configuresimulatorresponse"]
    return answer


def test_configure_simulator_makes_a_host_stop_answering(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    state: SimulatorState,
    plugin_manager: pluggy.PluginManager,
) -> None:
    driver = SimulatorHypervisor(SimulatorState())  # the default path: CUMULO_SIMULATOR_STATE
    connection = HostConnection("http://sim/h1", zone_id=1, cluster_id=2)
    host = HostRef(driver.connect(connection).guid, connection, host_id=7)
    result = signed_request(
        api, admin_keys, "configureSimulator", name="PingCommand", hostid=7, value="result:fail"
    )
    assert result.status_code == 200, result.text
    assert _answer(result) == {"success": "true"}
    assert driver.ping(host, timeout=1).status == HostStatus.DEGRADED
    signed_request(
        api, admin_keys, "configureSimulator", name="*", zoneid=1, value="result:unreachable"
    )
    # The host's own rule is narrower than the zone's: it still wins.
    assert driver.ping(host, timeout=1).status == HostStatus.DEGRADED
    signed_request(api, admin_keys, "configureSimulator", name="ping", hostid=7, value="clear")
    with pytest.raises(HostUnreachable):
        driver.ping(host, timeout=1)
    signed_request(api, admin_keys, "configureSimulator", name="*", zoneid=1, value="clear")
    assert driver.ping(host, timeout=1).status == HostStatus.UP
    assert state.rules() == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"name": "FlyCommand", "value": "result:fail"}, "name"),
        ({"name": "ping", "value": "result:perhaps"}, "value"),
        ({"name": "ping"}, "value"),
    ],
)
def test_configure_simulator_rejects_bad_rules_with_431(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    state: SimulatorState,
    params: dict[str, str],
    named: str,
) -> None:
    result = signed_request(api, admin_keys, "configureSimulator", **params)
    assert result.status_code == 431
    assert named in str(_answer(result)["errortext"])
    assert state.rules() == []
