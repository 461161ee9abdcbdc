"""cumulo.config: the registry of global configuration keys and its typed validation."""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest

from cumulo import hookimpl
from cumulo.config import ConfigRegistry, ConfigRegistryError, InvalidConfigValue, UnknownConfigKey
from cumulo.config.core_keys import ALIASES, CORE_KEYS
from cumulo.sdk import ConfigKey, Scope, ValueType

REQUIREMENTS = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "REQUIREMENTS.md"
CORE_PLUGIN = "cumulo.config.core_keys"


def _plugin(name: str, provide: Callable[[], object]) -> types.ModuleType:
    """A throwaway plugin module whose hook returns ``provide()``."""
    module = types.ModuleType(name)

    @hookimpl
    def cumulo_configuration_keys() -> object:
        return provide()

    module.cumulo_configuration_keys = cumulo_configuration_keys  # type: ignore[attr-defined]
    return module


def _register(pm: pluggy.PluginManager, name: str, *keys: ConfigKey) -> None:
    pm.register(_plugin(name, lambda: list(keys)), name=name)


def _spec_table_keys() -> list[str]:
    """Every key named in the first column of REQUIREMENTS §19.2's table."""
    if not REQUIREMENTS.is_file():
        pytest.fail(
            f"the requirements are not where the repository layout puts them: {REQUIREMENTS}"
        )
    text = REQUIREMENTS.read_text(encoding="utf-8")
    section = text.split("### 19.2", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| Key") and "---" not in line:
            first_cell = line.split("|")[1]
            names.extend(re.findall(r"`([^`]+)`", first_cell))
    return names


@pytest.fixture
def registry(plugin_manager: pluggy.PluginManager) -> ConfigRegistry:
    return ConfigRegistry.build(plugin_manager)


# ---- the core's keys -------------------------------------------------------------------


def test_every_requirements_key_is_registered(registry: ConfigRegistry) -> None:
    names = _spec_table_keys()
    assert len(names) >= 20, f"§19.2 table not found or changed shape: {names}"
    missing = [name for name in names if name not in registry]
    assert not missing, f"keys named in REQUIREMENTS §19.2 but not registered: {missing}"
    for name in names:
        assert registry.contributor(name) == CORE_PLUGIN


def test_every_core_key_is_fully_declared(registry: ConfigRegistry) -> None:
    for key in CORE_KEYS:
        assert registry.get_key(key.name) is key
        assert isinstance(key.type, ValueType), key.name
        assert key.description.strip() and key.category.strip(), key.name
        assert Scope.GLOBAL not in key.scopes, key.name  # global is implied
        if key.default is not None:
            assert registry.validate(key.name, key.default) == key.default, key.name
        if key.type is ValueType.BOOLEAN:
            assert key.default in ("true", "false"), key.name


def test_seed_restart_keys_require_a_restart(registry: ConfigRegistry) -> None:
    # REQ-CFG-03 names these four.
    for name in ("swift.enable", "enable.ec2.api", "enable.s3.api", "guest.vlan.bits"):
        assert registry.get_key(name).restart_required, name
    assert not registry.get_key("default.page.size").restart_required


def test_cloudstack_defaults(registry: ConfigRegistry) -> None:
    # The seed's stated defaults (REQUIREMENTS §19.2): the spec, not our own table, decides.
    text = REQUIREMENTS.read_text(encoding="utf-8")
    for name in (
        "default.page.size",
        "max.account.vpcs",
        "vpc.max.networks",
        "xen.setup.multipath",
    ):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        stated = re.findall(r"`([^`]+)`", row.split("|")[3])
        assert registry.get_key(name).default == stated[0], name
    assert registry.get_key("integration.api.port").default is None  # "implied disabled"


def test_seed_spellings_resolve_to_cloudstack_names(registry: ConfigRegistry) -> None:
    for alias, target in ALIASES.items():
        assert registry.canonical_name(alias) == target
        assert registry.get_key(alias) is registry.get_key(target)
    assert registry.validate("endpoint.url", " http://10.1.1.1:8080/client/api ") == (
        "http://10.1.1.1:8080/client/api"
    )
    assert registry.get_key("remote.access.vpn.client.ip.range").scopes == {Scope.ACCOUNT}


def test_keys_are_sorted_and_counted(registry: ConfigRegistry) -> None:
    names = [key.name for key in registry]
    assert names == sorted(names)
    assert list(registry) == registry.keys()
    # Other built-in modules declare their own keys beside the core list.
    assert len(registry) == len(names) >= len(CORE_KEYS)
    assert {key.name for key in CORE_KEYS} <= set(names)


# ---- plugins contribute keys -----------------------------------------------------------


def test_hook_cumulo_configuration_keys(plugin_manager: pluggy.PluginManager) -> None:
    key = ConfigKey(
        "hello.greeting.count",
        ValueType.INTEGER,
        "3",
        "How many greetings.",
        "Hello",
        scopes=frozenset({Scope.ZONE}),
        minimum=1,
        maximum=10,
    )
    _register(plugin_manager, "cumulo_hello_test", key)
    registry = ConfigRegistry.build(plugin_manager)
    assert registry.get_key("hello.greeting.count") is key
    assert registry.contributor("hello.greeting.count") == "cumulo_hello_test"
    assert registry.validate("hello.greeting.count", " 07 ") == "7"
    with pytest.raises(InvalidConfigValue, match=r"'hello\.greeting\.count': must be at most 10"):
        registry.validate("hello.greeting.count", "11")
    assert "default.page.size" in registry  # the core's keys are still there


def test_duplicate_between_plugins_names_both(plugin_manager: pluggy.PluginManager) -> None:
    twin = ConfigKey("twin.key", ValueType.STRING, None, "A key two plugins claim.")
    _register(plugin_manager, "first_plugin", twin)
    _register(plugin_manager, "second_plugin", twin)
    with pytest.raises(ConfigRegistryError) as raised:
        ConfigRegistry.build(plugin_manager)
    message = str(raised.value)
    assert "'twin.key'" in message
    assert "'first_plugin'" in message and "'second_plugin'" in message


def test_plugin_cannot_redeclare_a_core_key(plugin_manager: pluggy.PluginManager) -> None:
    _register(plugin_manager, "greedy", ConfigKey("default.page.size", ValueType.INTEGER, "9", "x"))
    with pytest.raises(ConfigRegistryError, match=f"'{CORE_PLUGIN}' and plugin 'greedy'"):
        ConfigRegistry.build(plugin_manager)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (ConfigKey("bad.default", ValueType.BOOLEAN, "yes", "d"), "expected true or false"),
        (ConfigKey("bad.enum", ValueType.ENUM, None, "d"), "enum without choices"),
        (ConfigKey("bad name", ValueType.STRING, None, "d"), "contains blanks"),
        (ConfigKey("no.description", ValueType.STRING, None, " "), "has no description"),
        (ConfigKey("bad.bounds", ValueType.INTEGER, None, "d", minimum=5, maximum=1), "minimum"),
        (ConfigKey("not.normal", ValueType.BOOLEAN, "TRUE", "d"), "declare 'true'"),
    ],
)
def test_broken_declaration_names_its_plugin(
    plugin_manager: pluggy.PluginManager, key: ConfigKey, problem: str
) -> None:
    _register(plugin_manager, "sloppy_plugin", key)
    with pytest.raises(ConfigRegistryError) as raised:
        ConfigRegistry.build(plugin_manager)
    assert "plugin 'sloppy_plugin'" in str(raised.value)
    assert problem in str(raised.value)


def test_plugin_whose_hook_fails_is_skipped_and_reported(
    plugin_manager: pluggy.PluginManager,
) -> None:
    def explode() -> object:
        raise RuntimeError("plugin bug")

    plugin_manager.register(_plugin("exploding", explode), name="exploding")
    plugin_manager.register(_plugin("confused", lambda: ["not a key"]), name="confused")
    _register(plugin_manager, "fine", ConfigKey("fine.key", ValueType.STRING, None, "ok"))
    registry = ConfigRegistry.build(plugin_manager)
    assert registry.errors == {
        "exploding": "RuntimeError: plugin bug",
        "confused": "TypeError: returned str, not ConfigKey",
    }
    assert "fine.key" in registry and "host" in registry


# ---- typed validation ------------------------------------------------------------------


def _key(value_type: ValueType, **extra: object) -> ConfigKey:
    return ConfigKey("t.key", value_type, None, "test key", **extra)  # type: ignore[arg-type]


def _validate(key: ConfigKey, value: str) -> str:
    return ConfigRegistry([("test", key)]).validate(key.name, value)


@pytest.mark.parametrize(
    ("key", "given", "normalised"),
    [
        (_key(ValueType.BOOLEAN), "TRUE", "true"),
        (_key(ValueType.BOOLEAN), " False ", "false"),
        (_key(ValueType.INTEGER, minimum=-1), "-1", "-1"),
        (_key(ValueType.INTEGER), " +42 ", "42"),
        (_key(ValueType.FLOAT, minimum=0, maximum=1), "0.85", "0.85"),
        (_key(ValueType.CIDR), "192.168.3.0/24", "192.168.3.0/24"),
        (_key(ValueType.CIDR), "2001:DB8:0::/48", "2001:db8::/48"),
        (_key(ValueType.CIDR_LIST), " 10.0.0.0/8 ,192.168.1.66/32,", "10.0.0.0/8,192.168.1.66/32"),
        (_key(ValueType.CIDR_LIST), "", ""),
        (_key(ValueType.IP), " 10.1.1.1 ", "10.1.1.1"),
        (_key(ValueType.URL), "https://h:8080/client/api", "https://h:8080/client/api"),
        (_key(ValueType.LIST), "KVM, XenServer ,,VMware", "KVM,XenServer,VMware"),
        (_key(ValueType.ENUM, choices=("CPU", "RAM")), "ram", "RAM"),
        (_key(ValueType.STRING), "  kept as is ", "  kept as is "),
    ],
)
def test_valid_values_are_normalised(key: ConfigKey, given: str, normalised: str) -> None:
    assert _validate(key, given) == normalised


@pytest.mark.parametrize(
    ("key", "given", "reason"),
    [
        (_key(ValueType.BOOLEAN), "yes", "expected true or false, got 'yes'"),
        (_key(ValueType.INTEGER), "1.5", "expected an integer, got '1.5'"),
        (_key(ValueType.INTEGER, minimum=8), "7", "must be at least 8, got '7'"),
        (_key(ValueType.INTEGER), "", "an empty value is not allowed for type integer"),
        (_key(ValueType.FLOAT), "nan", "expected a number, got 'nan'"),
        (_key(ValueType.FLOAT, maximum=1), "1.5", "must be at most 1, got '1.5'"),
        (_key(ValueType.CIDR), "192.168.3.1/24", "has host bits set"),
        (_key(ValueType.CIDR), "192.168.3.0", "is not a CIDR"),
        (_key(ValueType.CIDR_LIST), "10.0.0.0/8,nonsense/8", "'nonsense/8' is not a valid CIDR"),
        (_key(ValueType.IP), "10.1.1.256", "'10.1.1.256' is not an IP address"),
        (_key(ValueType.URL), "localhost:8080", "expected a URL"),
        (_key(ValueType.URL), "http://h:99999/", "expected a URL"),
        (_key(ValueType.ENUM, choices=("CPU", "RAM")), "disk", "expected one of CPU, RAM"),
        (_key(ValueType.STRING), "x" * 4096, "longer than 4095 characters"),
    ],
)
def test_invalid_values_name_the_parameter(key: ConfigKey, given: str, reason: str) -> None:
    with pytest.raises(InvalidConfigValue) as raised:
        _validate(key, given)
    message = str(raised.value)
    assert message.startswith("Invalid value for parameter 't.key': ")
    assert reason in message
    assert "\n" not in message


def test_ip_range_check_of_the_vpn_client_range(registry: ConfigRegistry) -> None:
    name = "remote.access.vpn.client.iprange"
    assert registry.validate(name, "10.1.2.1 - 10.1.2.8") == "10.1.2.1-10.1.2.8"
    for bad in ("10.1.2.8-10.1.2.1", "10.1.2.1", "10.1.2.1-::1", "a-b"):
        with pytest.raises(InvalidConfigValue, match=f"parameter '{name}'"):
            registry.validate(name, bad)


def test_secret_values_are_not_echoed_in_errors() -> None:
    key = ConfigKey("smtp.port.secret", ValueType.INTEGER, None, "d", secret=True)
    with pytest.raises(InvalidConfigValue) as raised:
        _validate(key, "hunter2")
    assert "hunter2" not in str(raised.value)


def test_unknown_key_is_both_lookup_error_and_invalid_value(registry: ConfigRegistry) -> None:
    with pytest.raises(UnknownConfigKey) as raised:
        registry.validate("no.such.key", "1")
    assert isinstance(raised.value, LookupError) and isinstance(raised.value, InvalidConfigValue)
    assert str(raised.value) == "Unknown configuration parameter 'no.such.key'"
    assert "no.such.key" not in registry
