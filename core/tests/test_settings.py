"""cumulo.settings: db.properties as CloudStack reads and writes it, and the config dir.

The Java-properties syntax is checked against the real peer: Java's own
``java.util.Properties`` reads what we write and writes what we read (the ``jasypt``
marker, because the JVM comes with the jasypt tool). The ``ENC()`` values are checked
with the real cumulo.crypto here and with the real jasypt in ``test_enc_values_*``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cumulo import crypto
from cumulo.javaprops import PropertiesSyntaxError, format_properties, parse_properties
from cumulo.settings import (
    DEFAULT_CONF_DIR,
    DbProperties,
    SettingsError,
    conf_dir,
    load_db_properties,
)

# A db.properties in the shape CloudStack 4.1's packaging installs (values invented).
CLOUDSTACK_STYLE = textwrap.dedent(
    """\
    # management server clustering parameters
    cluster.node.IP=10.1.1.5
    cluster.servlet.port=9090

    # database settings
    db.cloud.username=cloud
    db.cloud.password=plainpw
    db.cloud.host=db.example.org
    db.cloud.port=3307
    db.cloud.name=cloud

    # tuning
    db.cloud.maxActive=250
    db.cloud.maxIdle=30
    db.cloud.maxWait=10000
    db.cloud.autoReconnect=true
    db.cloud.validationQuery=SELECT 1
    db.cloud.url.params=prepStmtCacheSize=517&cachePrepStmts=true

    db.usage.username=usage
    db.usage.password=usagepw
    db.usage.host=usage.example.org
    db.usage.port=3306
    db.usage.name=cloud_usage
    db.usage.maxActive=100
    """
)

# Java-properties corner cases: every line is read the same by Java and by us.
EDGE_CASES = (
    "plain=value\n"
    "  indented.key = spaced value  \n"
    "colon.sep: with colon\n"
    "space.sep with whitespace separator\n"
    "# a comment = not a key\n"
    "! another comment\n"
    "   # indented comment\n"
    "continued=first \\\n"
    "     second \\\n"
    "  third\n"
    "cont.hash=a\\\n"
    "  #not a comment\n"
    "blank.continuation=b\\\n"
    "\n"
    "# comment ending in backslash \\\n"
    "after.comment=kept\n"
    "even.backslashes=ends with a backslash\\\\\n"
    "next.line=separate\n"
    "escaped\\ key\\=with\\:seps=v\n"
    "unicode=caf\\u00e9 \\u65e5\\u672c \\ud83d\\ude00\n"
    "controls=tab\\there\\nnewline\\rcr\\fff\n"
    "other.escapes=\\q\\#\\!\n"
    "empty.value=\n"
    "only.key\n"
    "double.sep==value\n"
    "dup=first\n"
    "dup=second\r\n"
    "crlf=windows\r\n"
    "cr.only=old mac\r"
    "trailing.continuation=end\\"
)


# ---- conf_dir / load_db_properties ---------------------------------------------------


def test_conf_dir_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUMULO_CONF_DIR", str(tmp_path))
    assert conf_dir() == tmp_path
    monkeypatch.setenv("CUMULO_CONF_DIR", "  ")
    assert conf_dir() == DEFAULT_CONF_DIR
    monkeypatch.delenv("CUMULO_CONF_DIR")
    assert conf_dir() == Path("/etc/cloud/management")


def test_load_db_properties_reads_conf_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "db.properties").write_text(CLOUDSTACK_STYLE)
    monkeypatch.setenv("CUMULO_CONF_DIR", str(tmp_path))
    props = load_db_properties()
    assert props["db.cloud.host"] == "db.example.org"
    assert props.path == tmp_path / "db.properties"
    assert load_db_properties(tmp_path).get("db.usage.username") == "usage"


def test_missing_db_properties_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        load_db_properties(tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "db.properties") in message
    assert "setup-databases" in message
    assert "\n" not in message


# ---- Java-properties syntax ----------------------------------------------------------


def test_edge_cases_parse_as_documented() -> None:
    values = parse_properties(EDGE_CASES)
    assert values["indented.key"] == "spaced value  "  # trailing blanks are kept
    assert values["colon.sep"] == "with colon"
    assert values["space.sep"] == "with whitespace separator"
    assert values["continued"] == "first second third"
    assert values["cont.hash"] == "a#not a comment"
    assert values["blank.continuation"] == "b"
    assert values["after.comment"] == "kept"
    assert values["even.backslashes"] == "ends with a backslash\\"
    assert values["next.line"] == "separate"
    assert values["escaped key=with:seps"] == "v"
    assert values["unicode"] == "café 日本 😀"
    assert values["controls"] == "tab\there\nnewline\rcr\fff"
    assert values["other.escapes"] == "q#!"
    assert values["empty.value"] == values["only.key"] == ""
    assert values["double.sep"] == "=value"
    assert values["dup"] == "second"
    assert values["crlf"] == "windows"
    assert values["cr.only"] == "old mac"
    assert values["trailing.continuation"] == "end"
    assert not any(key.startswith(("#", "!")) for key in values)


def test_malformed_unicode_escape_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "db.properties"
    path.write_text("db.cloud.password=se\\u12x4cret\n")
    with pytest.raises(SettingsError) as raised:
        DbProperties.read(path)
    assert str(raised.value) == (
        f"{path}: malformed \\uxxxx escape in the value of db.cloud.password"
    )


def test_unpaired_surrogate_escape_is_refused() -> None:
    with pytest.raises(
        PropertiesSyntaxError, match="unpaired UTF-16 surrogate escape in the value of k"
    ):
        parse_properties("k=\\ud83d alone\n")


def test_format_then_parse_is_identity_for_awkward_values() -> None:
    values = {
        "db.cloud.password": "ENC(q1w2+/e3==)",
        "key with spaces": "  leading and trailing  ",
        "colon:key=eq": "a=b:c#d!e",
        "#hash.key": "!bang",
        "unicode.ü": "Grüße - 日本 😀",
        "backslash": "C:\\path\\to\\",
        "controls": "\t\n\r\f",
        "empty": "",
    }
    text = format_properties(values, "header line\nsecond line")
    assert text.isascii()
    assert parse_properties(text) == values
    assert format_properties(values, "header line\nsecond line") == text


def test_latin1_file_written_by_java_is_read(tmp_path: Path) -> None:
    path = tmp_path / "db.properties"
    path.write_bytes("db.cloud.name=caf\xe9\n".encode("latin-1"))
    assert DbProperties.read(path)["db.cloud.name"] == "café"


# ---- writing -------------------------------------------------------------------------


def test_write_is_0600_atomic_and_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "db.properties"
    props = DbProperties.parse(CLOUDSTACK_STYLE)
    props.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    DbProperties.read(path).write(path)  # read back and write again: same bytes
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["db.properties"]  # no temp left
    assert dict(DbProperties.read(path)) == dict(props)


def test_write_replaces_an_existing_file_and_tightens_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "db.properties"
    path.write_text("old=1\n")
    path.chmod(0o644)
    DbProperties({"db.cloud.name": "cloud"}).write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dict(DbProperties.read(path)) == {"db.cloud.name": "cloud"}


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.properties"
    path.write_text("old=1\n")

    def refuse(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        DbProperties({"new": "2"}).write(path)
    assert path.read_text() == "old=1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.properties"]


def test_repr_never_shows_values() -> None:
    props = DbProperties({"db.cloud.password": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(props)
    with pytest.raises(TypeError):
        props.set("db.cloud.port", 3306)  # type: ignore[arg-type]


# ---- CloudStack semantics ------------------------------------------------------------


def test_for_database_encrypts_secrets_with_the_management_key(tmp_path: Path) -> None:
    props = DbProperties.for_database(
        management_key="K1",
        database_key="database-key-2",
        host="10.0.0.9",
        password="cloud-db-pw",
        cluster_node_ip="10.0.0.5",
        region_id=3,
    )
    path = tmp_path / "db.properties"
    props.write(path)
    text = path.read_text()
    # "-" is not a base64 character, so neither secret can appear inside a ciphertext.
    assert "cloud-db-pw" not in text and "database-key-2" not in text
    again = DbProperties.read(path)
    for key in ("db.cloud.password", "db.usage.password", "db.cloud.encrypt.secret"):
        assert crypto.unwrap_enc(again[key]) is not None, key
    assert again.encryption_type == "file"
    assert again.database_key("K1") == "database-key-2"
    assert again.region_id == 3
    assert again.cluster_node_ip == "10.0.0.5"
    url = again.cloud_url("K1")
    assert (url.drivername, url.username, url.password) == ("mysql+pymysql", "cloud", "cloud-db-pw")
    assert (url.host, url.port, url.database) == ("10.0.0.9", 3306, "cloud")
    usage = again.usage_url("K1")
    assert (usage.database, usage.password) == ("cloud_usage", "cloud-db-pw")
    assert usage.host == "10.0.0.9"
    again.check_management_key("K1")


def test_wrong_management_key_names_the_key_not_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "db.properties"
    DbProperties.for_database(management_key="right", database_key="dbkey-value").write(path)
    props = DbProperties.read(path)
    with pytest.raises(SettingsError) as raised:
        props.database_key("wrong")
    message = str(raised.value)
    assert "db.cloud.encrypt.secret" in message and str(path) in message
    assert "dbkey-value" not in message and "right" not in message
    with pytest.raises(SettingsError, match=r"cannot decrypt db\.cloud"):
        props.check_management_key("wrong")


def test_aes_algorithm_is_recorded_and_used() -> None:
    props = DbProperties.for_database(
        management_key="K1", database_key="K2", algorithm="PBEWITHHMACSHA512ANDAES_256"
    )
    reread = DbProperties.parse(props.render())
    assert reread.algorithm == "PBEWITHHMACSHA512ANDAES_256"
    assert reread.database_key("K1") == "K2"
    assert DbProperties.parse(CLOUDSTACK_STYLE).algorithm == crypto.DEFAULT_ALGORITHM


def test_encryption_type_none_stores_plain_values() -> None:
    props = DbProperties.for_database(
        management_key="", database_key="K2", encryption_type="none", password="pw"
    )
    assert props["db.cloud.password"] == "pw"
    assert props.database_key("") == "K2"
    assert props.cloud_url("").password == "pw"


def test_cloudstack_file_maps_onto_urls_and_pool_options() -> None:
    props = DbProperties.parse(CLOUDSTACK_STYLE)
    assert props.encryption_type == "none"  # CloudStack's reading of a missing key
    assert props.driver() == "mysql"
    cloud = props.cloud_url("unused: nothing is encrypted")
    assert (cloud.host, cloud.port, cloud.password) == ("db.example.org", 3307, "plainpw")
    usage = props.usage_url("unused")
    assert (usage.username, usage.host, usage.port) == ("usage", "usage.example.org", 3306)
    options = props.engine_options()
    assert options == {
        "pool_size": 30,
        "max_overflow": 220,
        "pool_timeout": 10.0,
        "pool_pre_ping": True,
    }
    assert props.engine_options("usage") == {"pool_size": 100, "max_overflow": 0}
    assert props["db.cloud.url.params"] == "prepStmtCacheSize=517&cachePrepStmts=true"


def test_usage_database_falls_back_to_cloud_server() -> None:
    props = DbProperties(
        {
            "db.cloud.host": "h",
            "db.cloud.port": "3310",
            "db.cloud.username": "u",
            "db.cloud.password": "p",
            "db.cloud.driver": "postgresql",
        }
    )
    usage = props.usage_url("k")
    assert usage.drivername == "postgresql+psycopg"
    assert (usage.host, usage.port, usage.username, usage.password) == ("h", 3310, "u", "p")
    assert usage.database == "cloud_usage"
    assert props.cloud_url("k").database == "cloud"


def test_sqlite_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.properties"
    DbProperties.for_database(
        management_key="K1", database_key="K2", driver="sqlite", name="data/cloud.db"
    ).write(path)
    props = DbProperties.read(path)
    assert props.cloud_url("K1").database == str(tmp_path / "data" / "cloud.db")
    assert props.usage_url("K1").database == str(tmp_path / "data" / "cloud_usage.db")
    assert props.engine_options() == {}
    assert "db.cloud.host" not in props


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"db.cloud.encryption.type": "plaintext"}, "db.cloud.encryption.type is 'plaintext'"),
        ({"db.cloud.driver": "oracle"}, "db.cloud.driver is 'oracle'"),
        ({"db.cloud.port": "33o6"}, "db.cloud.port is '33o6'; expected an integer"),
        ({"db.cloud.port": "70000"}, "db.cloud.port is 70000; expected 1-65535"),
        ({"db.cloud.maxActive": "400"}, "db.cloud.maxActive is 400; it must be between 1 and 350"),
        ({"db.cloud.driver": "sqlite"}, "db.cloud.name (the SQLite file) is missing"),
        ({}, "db.cloud.encrypt.secret is missing"),
    ],
)
def test_inconsistent_settings_are_named(values: dict[str, str], expected: str) -> None:
    props = DbProperties(values)
    with pytest.raises(SettingsError) as raised:
        _ = props.encryption_type
        props.cloud_url("k")
        props.engine_options()
        props.database_key("k")
    assert expected in str(raised.value)


def test_for_database_refuses_unknown_choices() -> None:
    with pytest.raises(SettingsError, match="unknown database driver 'db2'"):
        DbProperties.for_database(management_key="a", database_key="b", driver="db2")
    with pytest.raises(SettingsError, match="unknown encryption type 'rot13'"):
        DbProperties.for_database(management_key="a", database_key="b", encryption_type="rot13")


# ---- the real peers: Java's Properties and jasypt ------------------------------------

JAVA_PEER = """
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class PropertiesPeer {
    static String hex(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) b.append(String.format("%02x", x));
        return b.toString();
    }
    static String unhex(String h) {
        byte[] out = new byte[h.length() / 2];
        for (int i = 0; i < out.length; i++)
            out[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return new String(out, StandardCharsets.UTF_8);
    }
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        if (args[0].equals("load")) {
            try (InputStream in = new FileInputStream(args[1])) { p.load(in); }
            for (String k : p.stringPropertyNames())
                System.out.println(hex(k) + " " + hex(p.getProperty(k)));
        } else {
            for (int i = 2; i < args.length; i += 2)
                p.setProperty(unhex(args[i]), unhex(args[i + 1]));
            try (OutputStream out = new FileOutputStream(args[1])) {
                p.store(out, "written by java");
            }
        }
    }
}
"""


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory, jasypt: Any) -> list[str]:
    """A command running the Java peer (the JVM the ``jasypt`` fixture installed)."""
    source = tmp_path_factory.mktemp("java") / "PropertiesPeer.java"
    source.write_text(JAVA_PEER)
    return ["java", str(source)]


def _java_load(java: list[str], path: Path) -> dict[str, str]:
    output = subprocess.run([*java, "load", str(path)], capture_output=True, text=True, check=True)
    pairs = (line.split(" ") for line in output.stdout.splitlines())
    return {bytes.fromhex(k).decode(): bytes.fromhex(v).decode() for k, v in pairs}


@pytest.mark.jasypt
def test_java_reads_edge_cases_as_we_do(java: list[str], tmp_path: Path) -> None:
    path = tmp_path / "edge.properties"
    path.write_bytes(EDGE_CASES.encode("ascii"))
    assert _java_load(java, path) == parse_properties(EDGE_CASES)


@pytest.mark.jasypt
def test_java_reads_what_we_write(java: list[str], tmp_path: Path) -> None:
    props = DbProperties.parse(CLOUDSTACK_STYLE)
    for key, value in {"weird key:=#!": " lead\\ing ü😀\t", "x.empty": ""}.items():
        props.set(key, value)
    path = tmp_path / "db.properties"
    props.write(path)
    assert _java_load(java, path) == dict(props)


@pytest.mark.jasypt
def test_we_read_what_java_writes(java: list[str], tmp_path: Path) -> None:
    values = {"db.cloud.password": "ENC(a+b/c==)", "sp ace": " x ", "u": "日本 ü 😀", "e": ""}
    values["k=:#!"] = "a\\b\tc\nd"
    path = tmp_path / "java.properties"
    hexed = [part.encode().hex() for pair in values.items() for part in pair]
    subprocess.run([*java, "store", str(path), *hexed], check=True)
    assert dict(DbProperties.read(path)) == values


@pytest.mark.jasypt
@pytest.mark.parametrize("algorithm", crypto.ALGORITHMS)
def test_enc_values_decrypt_with_real_jasypt(algorithm: str, tmp_path: Path, jasypt: Any) -> None:
    path = tmp_path / "db.properties"
    DbProperties.for_database(
        management_key="mgmt-key",
        database_key="db key two",
        password="cloud-pw",
        algorithm=algorithm,
    ).write(path)
    props = DbProperties.read(path)
    for key, plaintext in (
        ("db.cloud.encrypt.secret", "db key two"),
        ("db.cloud.password", "cloud-pw"),
    ):
        inner = crypto.unwrap_enc(props[key])
        assert inner is not None
        assert jasypt.decrypt(inner, "mgmt-key", algorithm) == plaintext
